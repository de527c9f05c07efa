import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What `/usr/bin/time -v` reports for one command (its children included), plus the wall time seen from here. */
export interface Timing {
  wallSeconds: number;
  /** User + system CPU of the command and every child it waited for. */
  cpuSeconds: number;
  maxRssKiB: number;
}

/** A timed command's timing and its stdout. */
export interface TimedResult extends Timing {
  stdout: string;
}

/** Reads user+sys CPU and peak RSS out of a `/usr/bin/time -v` report. */
export function parseTimeReport(report: string): Omit<Timing, 'wallSeconds'> {
  const field = (name: string) => {
    const match = new RegExp(`${name}: ([\\d.]+)`).exec(report);
    if (!match) throw new Error(`no "${name}" in /usr/bin/time output: ${report.slice(0, 500)}`);
    return Number(match[1]);
  };
  return {
    cpuSeconds: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
    maxRssKiB: field('Maximum resident set size \\(kbytes\\)'),
  };
}

/** Runs argv under `/usr/bin/time -v`; rejects with the stderr tail when it exits non-zero. */
export async function timed(label: string, argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<TimedResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-time-'));
  const timeFile = join(dir, 'time');
  try {
    const started = performance.now();
    const res = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-v', '-o', timeFile, ...argv], { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ stdout, stderr, code }));
    });
    const wallSeconds = (performance.now() - started) / 1000;
    if (res.code !== 0) throw new Error(`${label} failed (exit ${res.code}): ${res.stderr.trim().slice(-2000)}`);
    return { wallSeconds, ...parseTimeReport(await readFile(timeFile, 'utf8')), stdout: res.stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
