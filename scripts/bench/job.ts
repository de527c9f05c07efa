import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMarker, type Marker } from '../../functions/shared/core/marker.js';
import { runJob } from '../../test/helpers/shells.js';
import { parseTimeReport, type Timing } from './timed.js';

/** A finished job run: its timing (dash and every child it waited for) and its done.gz marker. */
export interface JobRun extends Timing {
  marker: Marker;
}

/** Runs a generated job script with dash as the launcher would, under `/usr/bin/time -v`; rejects unless the marker says ok. */
export async function timedJob(label: string, runDir: string, script: string, opts: { env?: NodeJS.ProcessEnv; path?: readonly string[] } = {}): Promise<JobRun> {
  const timeFile = `${runDir}.time`;
  const shell = { name: 'dash' as const, argv: ['/usr/bin/time', '-v', '-o', timeFile, 'dash'], pathPrefix: '' };
  const started = performance.now();
  const result = await runJob(shell, runDir, script, opts);
  const wallSeconds = (performance.now() - started) / 1000;
  const marker = parseMarker(readFileSync(join(runDir, 'done.gz')));
  if (result.code !== 0 || !marker.ok) throw new Error(`${label} failed (exit ${result.code}): ${result.log.trim().slice(-2000)}`);
  return { wallSeconds, ...parseTimeReport(readFileSync(timeFile, 'utf8')), marker };
}
