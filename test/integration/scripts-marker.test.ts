import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { assembleJob } from '../../functions/shared/core/scripts/common.js';
import { readMarker } from '../helpers/job-run.js';
import { busyboxBinDir, runJob, shells } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

/** The shared job frame (steps, failure handling, done.gz writing) with stand-in steps instead of database tools. */

const target = targetSchema.parse({ name: 't', engine: 'postgres', cluster: 'c', service: 's', container: 'c', database: 'd', backupDir: '/b' });

function job(runDir: string, functions: string, main: string, runId = 'run-1'): string {
  return assembleJob({ kind: 'backup', target, ctx: { runId, runDir, startedAt: '2026-01-01T00:00:00Z' }, secretVar: 'PGPASSWORD', functions, main });
}

/** Whether a process named `comm` runs in process group `pgid`. */
function groupRuns(pgid: number, comm: string): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (name === comm && pgrp === pgid) return true;
  }
  return false;
}

describe.each(shells())('job frame under $name', (shell) => {
  it('writes valid JSON when stderr holds quotes, backslashes, control characters and non-UTF-8 bytes', async () => {
    const runDir = join(tempDir('frame'), 'r');
    const noisy = `noisy() { printf 'say "hi" \\\\ back\\tslash\\001\\033[31m\\377\\376 done\\r\\n' >&2; printf 'caf\\303\\251 and %%s %%d\\n' >&2; }`;

    const result = await runJob(shell, runDir, job(runDir, noisy, 'step noisy noisy\nNOTE="a \\"quoted\\" note \\\\ here"', 'id "with" \\ quote'));

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.runId).toBe('id "with" \\ quote');
    expect(m.stderrTail).toContain('say "hi" \\ back\tslash??[31m?? done?\n');
    expect(m.stderrTail).toContain('caf?? and %s %d');
    expect(m.note).toBe('a "quoted" note \\ here');
    expect(existsSync(join(runDir, '.done.json'))).toBe(false);
    expect(existsSync(join(runDir, '.done.gz.tmp'))).toBe(false);
  });

  it('skips the steps after a failure, still runs "always" steps, and records every status in order', async () => {
    const runDir = join(tempDir('frame'), 'r');
    const functions = 'ran() { echo "$1" >>ran.txt; return "$2"; }';
    const main = 'step one ran one 0\nstep two ran two 7\nstep three ran three 0\nalways cleanup ran cleanup 0';

    const result = await runJob(shell, runDir, job(runDir, functions, main));

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps).toEqual([
      { name: 'one', status: 0 },
      { name: 'two', status: 7 },
      { name: 'cleanup', status: 0 },
    ]);
    expect(readFileSync(join(runDir, 'ran.txt'), 'utf8')).toBe('one\ntwo\ncleanup\n');
  });

  it('reports the first failing stage of a pipeline, not just the last, and a stage that recorded nothing as failed', async () => {
    const runDir = join(tempDir('frame'), 'r');
    const functions = `pipe() { { sh -c 'echo data; exit 5'; echo $? >.s1; } | { cat >/dev/null; echo $? >.s2; }; first_failure .s1 .s2; }
lost() { { exit 0; echo $? >.s1; } | { cat >/dev/null; echo $? >.s2; }; first_failure .s1 .s2; }`;

    await runJob(shell, runDir, job(runDir, functions, 'step pipe pipe\nalways lost lost'));

    expect(readMarker(runDir).steps).toEqual([
      { name: 'pipe', status: 5 },
      { name: 'lost', status: 1 },
    ]);
  });

  it('stamps the log and endedAt to the millisecond where date has %N (GNU), else to the second (busybox)', async () => {
    const runDir = join(tempDir('frame'), 'r');
    const startedAt = new Date().toISOString();
    const script = assembleJob({ kind: 'backup', target, ctx: { runId: 'r', runDir, startedAt }, secretVar: 'PGPASSWORD', functions: '', main: 'step quick true' });

    const result = await runJob(shell, runDir, script);

    const m = readMarker(runDir);
    const stamp = shell.name === 'dash' ? /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ : /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
    expect(m.endedAt).toMatch(stamp);
    expect(result.log.split(' ')[0]).toMatch(stamp);
    // to the millisecond, a quick job no longer seems to end before the orchestrator's start time; to the second it may
    expect(Date.parse(m.endedAt)).toBeGreaterThanOrEqual(Date.parse(startedAt) - (shell.name === 'dash' ? 0 : 999));
  });

  it('writes ok=false with a "signal" step when the job is terminated with SIGTERM', async () => {
    const runDir = join(tempDir('frame'), 'r');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'job.sh'), job(runDir, '', 'step slow sleep 30\nstep never true'));
    const fd = openSync(join(runDir, 'log'), 'w');
    const [cmd, ...pre] = shell.argv as [string, ...string[]];
    const child = spawn(cmd, [...pre, 'job.sh'], {
      cwd: runDir,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: [shell.pathPrefix, '/usr/bin', '/bin'].filter((p) => p !== '').join(':') },
    });
    closeSync(fd);
    const exited = new Promise((r) => child.once('exit', r));
    // a TERM that lands before `sleep` forks waits for it (30 s): the shell runs traps between commands
    while (!groupRuns(child.pid ?? 0, 'sleep')) await new Promise((r) => setTimeout(r, 20));

    process.kill(-(child.pid ?? 0), 'SIGTERM');
    await exited;

    const m = readMarker(runDir);
    expect(m.ok).toBe(false);
    expect(m.steps.map((s) => s.name)).toContain('signal');
    expect(m.steps.map((s) => s.name)).not.toContain('never');
  });
});

it('uses busybox applets on the busybox PATH', () => {
  expect(existsSync(join(busyboxBinDir(), 'awk'))).toBe(true);
});
