import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../scripts/bench/results.js';
import { SECTIONS } from '../../scripts/bench/results.js';

/** `npm run bench` on tiny sizes: every section runs, the JSON holds each of them, and every target is evaluated. */

const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
let pgid: number | undefined;

afterAll(() => {
  // A bench still running when the test ends early (failure, timeout) is stopped with its servers.
  if (pgid !== undefined) {
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  pgid = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      pgid = undefined;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run bench on a tiny dataset', () => {
  it('measures every section in one run, prints the targets and writes them with the results as JSON', async () => {
    const json = join(dir, 'out', 'bench.json');
    const run = await bench(['--pg-size-mb', '50', '--redis-keys', '10000', '--upload-sizes-mib', '16,32', '--repeats', '1', '--resume-upload', '--json', json]);

    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const results = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
    expect(Object.keys(results.sections).sort()).toEqual([...SECTIONS].sort());
    expect(results.errors).toEqual({});
    expect(results.sections.upload?.sizes.map((s) => s.sizeMiB)).toEqual([16, 32]);
    expect(results.targets.map((t) => t.id)).toEqual([
      'dump-vs-floor',
      'upload-throughput-16mib',
      'upload-rss-16mib',
      'upload-throughput-32mib',
      'upload-rss-32mib',
      'e2e-vs-floor',
      'e2e-upload-resumed',
      'drill-vs-restore',
      'backup-digests-vs-counts',
      'impact-tps-vs-none',
      'impact-tps-vs-naive',
      'bundle-size',
      'cold-import',
    ]);
    for (const t of results.targets) {
      expect(typeof t.met, t.id).toBe('boolean');
      // A tiny dump is one part: its upload has nothing left to resume in a later invocation.
      if (t.id === 'e2e-upload-resumed') expect(t.measured, t.id).toBeGreaterThanOrEqual(0);
      else expect(t.measured, t.id).toBeGreaterThan(0);
    }
    expect(run.stdout).toContain('### Targets');
    expect(run.stderr).toContain(`results written to ${json}`);
  }, 360_000);

  it('exits 2 with a usage error naming a bad flag, before measuring anything', async () => {
    const run = await bench(['--repeats', 'many']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--repeats');
    expect(run.stderr).toContain('usage: npm run bench');
    expect(run.stdout).toBe('');
  }, 60_000);
});
