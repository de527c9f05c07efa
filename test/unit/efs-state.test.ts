import { mkdtemp, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
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

  it('reads a probe file at the root', async () => {
    await writeFile(join(root, '.probe-1'), 'hi');
    expect(await state.readRootFile('.probe-1')).toBe('hi');
    expect(await state.readRootFile('.probe-2')).toBeNull();
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
