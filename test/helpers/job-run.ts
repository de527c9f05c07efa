import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMarker, type Marker } from '../../functions/shared/core/marker.js';
import type { JobContext } from '../../functions/shared/core/scripts/common.js';

/** The context of a job run in `runDir`: its run id follows the directory's name, started now. */
export function runContext(runDir: string): JobContext {
  return { runId: `run-${runDir.split('/').pop()}`, runDir, startedAt: new Date().toISOString() };
}

/** The marker (done.gz) a finished job left in `runDir`, parsed. */
export function readMarker(runDir: string): Marker {
  return parseMarker(readFileSync(join(runDir, 'done.gz')));
}

/** A new run directory `<work>/<name>` holding a copy of `source` named `file`, as the orchestrator's download would leave it. */
export function stageFile(source: string, work: string, name: string, file: string): string {
  const runDir = join(work, name);
  mkdirSync(runDir, { recursive: true });
  copyFileSync(source, join(runDir, file));
  return runDir;
}
