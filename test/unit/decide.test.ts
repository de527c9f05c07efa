import { describe, expect, it } from 'vitest';
import { decideRun, markerProblem, STARTING_STALE_MS, type MarkerObservation, type MarkerSummary, type RunObservation } from '../../functions/shared/core/decide.js';
import { startingRecord, type RunRecord } from '../../functions/shared/core/run-record.js';

const NOW = new Date('2026-11-22T05:00:00Z');
const RUN_ID = '20261122T040000Z-0123ab';
const task = { taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/db/abc', taskId: 'abc', clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/db', container: 'postgres' };

function record(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    ...startingRecord({ kind: 'backup', runId: RUN_ID, target: 'pg', now: new Date('2026-11-22T04:00:00Z'), slot: new Date('2026-11-22T00:00:00Z') }),
    phase: 'running',
    task,
    pid: 4242,
    startedAt: '2026-11-22T04:00:00.000Z',
    ...overrides,
  };
}

const goodMarker: MarkerSummary = { runId: RUN_ID, ok: true, file: 'dump.pgdump', bytes: 1000, sha256: 'a'.repeat(64), steps: [{ name: 'pg_dump', status: 0 }, { name: 'pg_restore --list', status: 0 }] };
const present = (m: Partial<MarkerSummary> = {}, fileSize: number | null = 1000): MarkerObservation => ({ state: 'present', marker: { ...goodMarker, ...m }, fileSize });
const absent: MarkerObservation = { state: 'absent' };

function observe(o: Partial<RunObservation>): RunObservation {
  return { now: NOW, run: record(), marker: absent, dumpTimeoutMinutes: 180, maxUploadAttempts: 3, ...o };
}

describe('decideRun', () => {
  it.each<{ name: string; o: Partial<RunObservation>; expected: Record<string, unknown> }>([
    { name: 'leaves a fresh "starting" run to the invocation launching it', o: { run: record({ phase: 'starting', task: null, startedAt: null, pid: null, createdAt: new Date(NOW.getTime() - 60_000).toISOString() }) }, expected: { action: 'busy' } },
    { name: 'abandons a "starting" run older than a Lambda can live', o: { run: record({ phase: 'starting', task: null, startedAt: null, pid: null, createdAt: new Date(NOW.getTime() - STARTING_STALE_MS - 1).toISOString() }) }, expected: { action: 'abandon' } },
    { name: 'uploads a verified dump', o: { marker: present() }, expected: { action: 'upload' } },
    { name: 'resumes an upload', o: { run: record({ phase: 'uploading' }), marker: present() }, expected: { action: 'upload' } },
    { name: 'fails a corrupt marker without killing anything', o: { marker: { state: 'corrupt', reason: 'not gzip' } }, expected: { action: 'fail', kill: false, reason: 'marker is corrupt: not gzip' } },
    { name: 'fails a marker with a failed step, naming it', o: { marker: present({ ok: false, steps: [{ name: 'pg_dump', status: 1 }] }) }, expected: { action: 'fail', reason: 'step "pg_dump" exited with status 1' } },
    { name: 'fails a marker that says ok=false', o: { marker: present({ ok: false }) }, expected: { action: 'fail', reason: 'marker says the job failed' } },
    { name: 'fails a marker of another run', o: { marker: present({ runId: 'other' }) }, expected: { action: 'fail' } },
    { name: 'fails when the dump file is missing', o: { marker: present({}, null) }, expected: { action: 'fail', reason: 'dump file dump.pgdump is missing from the run directory' } },
    { name: 'fails when the dump file size differs from the marker', o: { marker: present({}, 999) }, expected: { action: 'fail', reason: 'dump file is 999 bytes but the marker says 1000' } },
    { name: 'fails an empty dump', o: { marker: present({ bytes: 0 }, 0) }, expected: { action: 'fail', reason: 'dump is empty' } },
    { name: 'fails after the upload attempts are used up', o: { run: record({ phase: 'uploading', uploadAttempts: 3, lastError: 'InternalError' }), marker: present() }, expected: { action: 'fail', reason: 'upload failed 3 times, last: InternalError' } },
    { name: 'resumes an upload that got further in its last invocation', o: { run: record({ phase: 'uploading', transfer: { startedAt: '2026-11-22T04:10:00.000Z', done: 40, idleInvocations: 2 } }), marker: present() }, expected: { action: 'upload' } },
    {
      name: 'fails an upload that made no progress over three invocations, freeing the target',
      o: { run: record({ phase: 'uploading', transfer: { startedAt: '2026-11-22T04:10:00.000Z', done: 40, idleInvocations: 3 } }), marker: present() },
      expected: { action: 'fail', kill: false, reason: 'the upload made no progress over 3 invocations (40 done): it is stuck' },
    },
    {
      name: 'fails an upload past its time limit, even while it gets further',
      o: { run: record({ phase: 'uploading', transfer: { startedAt: '2026-11-20T04:59:00.000Z', done: 40, idleInvocations: 0 } }), marker: present() },
      expected: { action: 'fail', kill: false, reason: 'the upload is not finished after 48 hours (40 done)' },
    },
    { name: 'fails an upload whose marker disappeared', o: { run: record({ phase: 'uploading' }) }, expected: { action: 'fail' } },
    { name: 'fails and kills a dump past its time limit', o: { dumpTimeoutMinutes: 30 }, expected: { action: 'fail', kill: true } },
    { name: 'asks for the task first when there is no marker', o: {}, expected: { action: 'check-task' } },
    { name: 'fails at once when the task is gone', o: { taskRunning: false }, expected: { action: 'fail', kill: false, reason: 'task abc stopped before the job wrote its marker' } },
    {
      name: 'says why a runner task stopped',
      o: { taskRunning: false, taskStopped: 'EssentialContainerExited: Essential container in task exited; container dump exited with code 137' },
      expected: { action: 'fail', kill: false, reason: 'task abc stopped before the job wrote its marker: EssentialContainerExited: Essential container in task exited; container dump exited with code 137' },
    },
    { name: 'asks for the job when the task runs', o: { taskRunning: true }, expected: { action: 'check-job' } },
    { name: 'fails when the job died without a marker', o: { taskRunning: true, jobAlive: false }, expected: { action: 'fail', kill: false } },
    { name: 'waits for a running job', o: { taskRunning: true, jobAlive: true }, expected: { action: 'wait' } },
  ])('$name', ({ o, expected }) => {
    expect(decideRun(observe(o))).toMatchObject(expected);
  });

  it('measures the time limit from the job start, not the lock', () => {
    const run = record({ createdAt: '2026-11-22T01:00:00.000Z', startedAt: '2026-11-22T04:59:00.000Z' });
    expect(decideRun(observe({ run, dumpTimeoutMinutes: 2, taskRunning: true, jobAlive: true }))).toMatchObject({ action: 'wait' });
  });
});

describe('markerProblem', () => {
  it('accepts a marker whose every step succeeded and whose file matches', () => {
    expect(markerProblem(record(), goodMarker, 1000)).toBeNull();
  });

  it('reports the first failed step even when ok is true', () => {
    expect(markerProblem(record(), { ...goodMarker, steps: [{ name: 'a', status: 0 }, { name: 'check', status: 2 }] }, 1000)).toBe('step "check" exited with status 2');
  });

  it.each([
    { name: 'no file', m: { file: null }, problem: 'marker names no dump file' },
    { name: 'no sha256', m: { sha256: null }, problem: 'marker has no sha256 of the dump' },
  ])('rejects a marker with $name', ({ m, problem }) => {
    expect(markerProblem(record(), { ...goodMarker, ...m }, 1000)).toBe(problem);
  });
});
