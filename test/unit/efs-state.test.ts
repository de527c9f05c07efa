import { mkdtemp, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EfsState, LEASE_FILE, RUN_FILE } from '../../functions/shared/adapters/efs-state.js';
import { startingRecord, type RunRecord } from '../../functions/shared/core/run-record.js';

let root: string;
let state: EfsState;
const NOW = new Date('2026-11-22T05:00:00Z');

const run = (runId: string, target = 'pg'): RunRecord => startingRecord({ kind: 'backup', runId, target, now: NOW, slot: null });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'efs-state-'));
  state = new EfsState(root);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the run lock', () => {
  it('is taken by exactly one of many simultaneous creators', async () => {
    const records = Array.from({ length: 20 }, (_, i) => run(`20261122T050000Z-${String(i).padStart(6, '0')}`));
    const taken = await Promise.all(records.map((r) => state.createRun(r)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    const winner = records[taken.indexOf(true)]!;
    expect(await state.readRun('pg', NOW)).toEqual({ state: 'ok', record: winner });
    expect((await readdir(join(root, 'pg'))).sort()).toEqual([RUN_FILE]);
  });

  it('is free again after the run is removed, with its directory', async () => {
    const first = run('20261122T050000Z-aaaaaa');
    await state.createRun(first);
    await mkdir(state.runDir('pg', first.runId));
    await writeFile(join(state.runDir('pg', first.runId), 'dump.pgdump'), 'x');
    await state.removeRun('pg', first.runId);
    expect(await readdir(join(root, 'pg'))).toEqual([]);
    expect(await state.createRun(run('20261122T050000Z-bbbbbb'))).toBe(true);
  });
});

describe('readRun', () => {
  it('reports no run when run.json does not exist', async () => {
    expect(await state.readRun('pg', NOW)).toEqual({ state: 'none' });
  });

  it('reports an unreadable run.json with its age', async () => {
    await mkdir(join(root, 'pg'));
    await writeFile(join(root, 'pg', RUN_FILE), '{"version": 1');
    const old = new Date(NOW.getTime() - 60_000);
    await utimes(join(root, 'pg', RUN_FILE), old, old);
    const read = await state.readRun('pg', NOW);
    expect(read).toMatchObject({ state: 'corrupt', ageMs: 60_000 });
    expect(read.state === 'corrupt' && read.reason).toMatch(/not JSON/);
  });
});

describe('writeRun', () => {
  it('replaces the record and leaves no temporary file', async () => {
    const r = run('20261122T050000Z-cccccc');
    await state.createRun(r);
    const next: RunRecord = { ...r, phase: 'running', startedAt: NOW.toISOString(), pid: 7, task: { taskArn: 'a', taskId: 't', clusterArn: 'c', container: 'pg' } };
    await state.writeRun(next);
    expect(await state.readRun('pg', NOW)).toEqual({ state: 'ok', record: next });
    expect(await readdir(join(root, 'pg'))).toEqual([RUN_FILE]);
  });
});

describe('sweep', () => {
  it('removes leftovers of earlier runs and keeps the current run, run.json and last-failure.json', async () => {
    const r = run('20261122T050000Z-dddddd');
    await state.createRun(r);
    await state.writeLastFailure('pg', { runId: 'x', slot: null, at: NOW.toISOString(), reason: 'r' });
    for (const dir of [r.runId, '20261121T050000Z-eeeeee', '20261120T050000Z-ffffff']) await mkdir(state.runDir('pg', dir));
    expect((await state.sweep('pg', r.runId)).sort()).toEqual(['20261120T050000Z-ffffff', '20261121T050000Z-eeeeee']);
    expect((await readdir(join(root, 'pg'))).sort()).toEqual([r.runId, 'last-failure.json', RUN_FILE].sort());
  });
});

describe('last failure', () => {
  it('round-trips, and an unreadable file counts as none', async () => {
    const failure = { runId: '20261122T050000Z-aaaaaa', slot: '2026-11-22T00:00:00.000Z', at: NOW.toISOString(), reason: 'marker is corrupt' };
    await state.writeLastFailure('pg', failure);
    expect(await state.readLastFailure('pg')).toEqual(failure);
    await writeFile(join(root, 'pg', 'last-failure.json'), 'garbage');
    expect(await state.readLastFailure('pg')).toBeNull();
  });
});

describe('run files', () => {
  it('reads files and sizes of a run directory, null when missing', async () => {
    await mkdir(state.runDir('pg', 'r1'), { recursive: true });
    await writeFile(join(state.runDir('pg', 'r1'), 'done.gz'), Buffer.from([1, 2, 3]));
    expect(await state.readRunFile('pg', 'r1', 'done.gz')).toEqual(Buffer.from([1, 2, 3]));
    expect(await state.runFileSize('pg', 'r1', 'done.gz')).toBe(3);
    expect(await state.readRunFile('pg', 'r1', 'missing')).toBeNull();
    expect(await state.runFileSize('pg', 'r1', 'missing')).toBeNull();
    expect(await readFile(join(root, 'pg', 'r1', 'done.gz'))).toHaveLength(3);
  });

  it("reads a probe file in the target's directory only", async () => {
    await mkdir(join(root, 'pg'));
    await writeFile(join(root, 'pg', '.probe-1'), 'hi');
    await writeFile(join(root, '.probe-3'), 'at the root');
    expect(await state.readProbeFile('pg', '.probe-1')).toBe('hi');
    expect(await state.readProbeFile('pg', '.probe-2')).toBeNull();
    expect(await state.readProbeFile('pg', '.probe-3')).toBeNull();
    expect(await state.readProbeFile('other', '.probe-1')).toBeNull();
  });

  it.each([
    ['a link to the environment', async () => symlink('/proc/self/environ', join(root, 'pg', '.probe-x')), /is a symbolic link/],
    ['a file larger than a probe', async () => writeFile(join(root, 'pg', '.probe-x'), 'x'.repeat(257)), /257 bytes, more than the 256/],
    ['a directory', async () => mkdir(join(root, 'pg', '.probe-x')), /not a regular file/],
  ])('refuses a probe file that is %s', async (_name, make, message) => {
    await mkdir(join(root, 'pg'));
    await make();
    await expect(state.readProbeFile('pg', '.probe-x')).rejects.toThrow(message);
  });

  it('reads probe files only by their name', async () => {
    await mkdir(join(root, 'pg'));
    await writeFile(join(root, 'pg', 'run.json'), '{}');
    await expect(state.readProbeFile('pg', 'run.json')).rejects.toThrow(/not named like ".probe-1a2b3c"/);
    await expect(state.readProbeFile('pg', '.probe-../run.json')).rejects.toThrow(/not named like/);
  });

  it.each([
    ['run.json', () => state.readRun('pg', NOW), (dir: string) => join(dir, RUN_FILE)],
    ['last-failure.json', () => state.readLastFailure('pg'), (dir: string) => join(dir, 'last-failure.json')],
    ['a run file', () => state.readRunFile('pg', 'r1', 'done.gz'), (dir: string) => join(dir, 'r1', 'done.gz')],
    ['a run file\'s size', () => state.runFileSize('pg', 'r1', 'dump.pgdump'), (dir: string) => join(dir, 'r1', 'dump.pgdump')],
  ])('never follows a link as %s', async (_name, read, where) => {
    const other = join(root, 'other');
    await mkdir(join(other, 'r1'), { recursive: true });
    const secret = JSON.stringify(startingRecord({ kind: 'backup', runId: 'r0', target: 'other', now: NOW, slot: null }));
    await writeFile(join(other, 'secret.json'), secret);
    await mkdir(join(root, 'pg', 'r1'), { recursive: true });
    await symlink(join(other, 'secret.json'), where(join(root, 'pg')));
    // readLastFailure counts an unreadable file as none; everything else refuses loudly.
    const outcome = await read().then((value) => ({ value }), (error: unknown) => ({ error }));
    expect(JSON.stringify(outcome)).not.toContain('r0');
    if ('error' in outcome) expect(String(outcome.error)).toMatch(/symbolic link/);
    else expect(outcome.value).toBeNull();
  });

  it('never reads another target\'s run directory through a linked run directory', async () => {
    await mkdir(join(root, 'other', 'r9'), { recursive: true });
    await writeFile(join(root, 'other', 'r9', 'done.gz'), 'the other target\'s marker');
    await mkdir(join(root, 'pg'));
    await symlink(join(root, 'other', 'r9'), join(root, 'pg', 'r1'));
    await expect(state.readRunFile('pg', 'r1', 'done.gz')).rejects.toThrow(/a directory on the way is a symbolic link/);
    await expect(state.runFileSize('pg', 'r1', 'done.gz')).rejects.toThrow(/a directory on the way is a symbolic link/);
  });
});

describe('the run lease', () => {
  const later = new Date(NOW.getTime() + 60_000);
  it('is held by one invocation until it is given back', async () => {
    await mkdir(join(root, 'pg'));
    expect(await state.takeLease('pg', 'r1', later, NOW)).toBe(true);
    expect(await state.takeLease('pg', 'r1', later, NOW)).toBe(false);
    await state.releaseLease('pg');
    expect(await state.takeLease('pg', 'r1', later, NOW)).toBe(true);
  });

  it('is taken over once its time is up', async () => {
    await mkdir(join(root, 'pg'));
    expect(await state.takeLease('pg', 'r1', later, NOW)).toBe(true);
    expect(await state.takeLease('pg', 'r1', new Date(later.getTime() + 60_000), new Date(later.getTime() + 1))).toBe(true);
  });

  it('is taken over by exactly one of many simultaneous takers once its time is up', async () => {
    await mkdir(join(root, 'pg'));
    const afterExpiry = new Date(later.getTime() + 1);
    for (let round = 0; round < 20; round++) {
      await state.releaseLease('pg');
      expect(await state.takeLease('pg', 'r1', later, NOW)).toBe(true);
      const taken = await Promise.all(Array.from({ length: 8 }, () => state.takeLease('pg', 'r1', new Date(later.getTime() + 60_000), afterExpiry)));
      expect(taken.filter(Boolean)).toHaveLength(1);
    }
    expect((await readdir(join(root, 'pg'))).sort()).toEqual([LEASE_FILE]);
  });

  it('goes with the run lock', async () => {
    const r = run('20261122T050000Z-abcdef');
    await state.createRun(r);
    await state.takeLease('pg', r.runId, later, NOW);
    await state.removeRun('pg', r.runId);
    expect(await readdir(join(root, 'pg'))).toEqual([]);
  });
});
