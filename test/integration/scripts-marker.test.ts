import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { CHUNK_BYTES, parseChunkList } from '../../functions/shared/core/marker.js';
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
  expect(existsSync(join(busyboxBinDir(), 'dd'))).toBe(true);
});

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const chunkHashes = (data: Buffer) =>
  Array.from({ length: Math.ceil(data.length / CHUNK_BYTES) }, (_, i) => sha(data.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)));

describe.each(shells())('the dump\'s sha256 and chunk list under $name', (shell) => {
  it.each([
    { name: 'read from the file by promote', size: 2 * CHUNK_BYTES + 5, main: 'step promote promote data.tmp data.bin' },
    { name: 'of a whole number of chunks', size: 2 * CHUNK_BYTES, main: 'step promote promote data.tmp data.bin' },
    // cat writes the pipe in small pieces: each chunk must still be exactly CHUNK_BYTES of the stream.
    { name: 'hashed from a pipe while it is written', size: CHUNK_BYTES + 3, main: 'step stream streamed\nstep promote promote data.tmp data.bin' },
  ])('are written $name', async ({ size, main }) => {
    const runDir = join(tempDir('chunks'), 'r');
    mkdirSync(runDir, { recursive: true });
    const data = randomBytes(size);
    writeFileSync(join(runDir, 'data.tmp'), data);
    const functions = 'streamed() { cat data.tmp | hash_stream >.sha; STREAM_SHA=$(cut -d " " -f 1 .sha); rm -f .sha; }';

    const result = await runJob(shell, runDir, job(runDir, functions, main));

    const m = readMarker(runDir);
    expect(result.code, result.log).toBe(0);
    expect(m.sha256).toBe(sha(data));
    expect(m.chunks).toMatchObject({ file: 'data.bin.chunks', chunkBytes: CHUNK_BYTES, count: Math.ceil(size / CHUNK_BYTES) });
    expect(parseChunkList(readFileSync(join(runDir, 'data.bin.chunks')), m.chunks!, size)).toEqual(chunkHashes(data));
    expect(readdirSync(runDir).sort()).toEqual(['data.bin', 'data.bin.chunks', 'done.gz', 'job.sh', 'log']);
  });

  it('leaves the chunk list out, never a wrong one, when dd fails, and still records the sha256', async () => {
    const runDir = join(tempDir('chunks'), 'r');
    const bin = join(tempDir('chunks'), 'bin');
    mkdirSync(runDir, { recursive: true });
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'dd'), '#!/bin/sh\necho "dd: unknown operand iflag=fullblock" >&2\nexit 1\n', { mode: 0o755 });
    const data = randomBytes(CHUNK_BYTES + 1);
    writeFileSync(join(runDir, 'data.tmp'), data);

    const result = await runJob(shell, runDir, job(runDir, '', 'step promote promote data.tmp data.bin'), { path: [bin] });

    const m = readMarker(runDir);
    expect(result.code, result.log).toBe(0);
    expect(m.sha256).toBe(sha(data));
    expect(m.chunks).toBeNull();
    expect(result.log).toMatch(/error: dd failed \(status 1\): dd: unknown operand iflag=fullblock[\s\S]*warning: no chunk list/);
    expect(existsSync(join(runDir, 'data.bin.chunks'))).toBe(false);
  });
});
