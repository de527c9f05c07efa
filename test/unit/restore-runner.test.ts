import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { advanceJob } from '../../functions/orchestrator/restore/restore-runner.js';
import { continueRestore } from '../../functions/orchestrator/restore/restore-workflow.js';
import { EfsState } from '../../functions/shared/adapters/efs-state.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { MARKER_FILE } from '../../functions/shared/core/marker.js';
import { startingRecord, type RunRecord } from '../../functions/shared/core/run-record.js';

const ecsMock = mockClient(ECSClient);
const target = targetSchema.parse({ name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' });
const NOW = new Date('2026-11-22T05:00:00Z');
const TASK = { taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/t1', taskId: 't1', clusterArn: 'arn:aws:ecs:eu-west-1:1:cluster/c', container: 'k' };

let root: string;
let state: EfsState;
let warnings: string[];

function deps(): Deps {
  return {
    ecs: new ECSClient({ region: 'eu-west-1' }),
    state,
    telemetry: { logger: { warn: (m: string) => warnings.push(m), info: () => undefined, error: () => undefined }, emit: () => undefined },
    deadline: Date.now() + 60_000,
    now: () => NOW,
    sleep: async () => undefined,
  } as unknown as Deps;
}

function runningRestore(): RunRecord {
  const run = startingRecord({ kind: 'restore', runId: '20261122T045000Z-abcdef', target: 'pg', now: new Date(NOW.getTime() - 60_000), slot: null });
  return { ...run, phase: 'running', task: TASK, pid: 42, startedAt: run.createdAt };
}

beforeEach(async () => {
  ecsMock.reset();
  root = await mkdtemp(join(tmpdir(), 'restore-runner-'));
  state = new EfsState(root);
  warnings = [];
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('advanceJob on a running job', () => {
  it('keeps the run and its lock when ECS cannot be asked whether the task runs', async () => {
    const run = runningRestore();
    await state.createRun(run);
    ecsMock.on(DescribeTasksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    const step = await advanceJob(deps(), target, run, () => 'true', { downloadUntil: 0, waitUntil: 0 });

    expect(step).toMatchObject({ state: 'running', reason: expect.stringMatching(/Rate exceeded.*next invocation looks again/) });
    expect(await state.readRun('pg', NOW)).toEqual({ state: 'ok', record: run });
    expect(warnings).toHaveLength(1);
  });

  it('leaves a run another invocation has already ended alone, and the lock of the run that followed', async () => {
    const run = runningRestore();
    const marker = {
      runId: run.runId, kind: 'restore', engine: 'postgres', toolVersion: 'pg_restore 15', steps: [{ name: 'restore', status: 0 }], ok: true,
      file: null, bytes: null, sha256: null, startedAt: run.createdAt, endedAt: run.createdAt, stderrTail: '', counts: null,
    };
    await mkdir(state.runDir('pg', run.runId), { recursive: true });
    await writeFile(join(state.runDir('pg', run.runId), MARKER_FILE), gzipSync(JSON.stringify(marker)));
    const next = startingRecord({ kind: 'backup', runId: '20261122T050000Z-123456', target: 'pg', now: NOW, slot: null });
    await state.createRun(next);

    const step = await advanceJob(deps(), target, run, () => 'true', { downloadUntil: 0, waitUntil: 0 });

    expect(step).toMatchObject({ state: 'busy' });
    expect(await state.readRun('pg', NOW)).toEqual({ state: 'ok', record: next });
  });
});

describe('continueRestore', () => {
  it('ends a restore run whose parameters this version cannot read, so the lock does not stay taken', async () => {
    const run = { ...runningRestore(), params: { unexpected: true } };
    await state.createRun(run);

    const outcome = await continueRestore(deps(), target, run, false, false);

    expect(outcome).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/cannot read/) });
    expect(await state.readRun('pg', NOW)).toEqual({ state: 'none' });
  });
});

describe('advanceJob on a download', () => {
  const params = {
    source: { key: 'p/pg/monday.pgdump', versionId: 'v1', weekday: 'monday', size: 10, sha256: 'a'.repeat(64), backupRunId: 'r', uploadedAt: NOW.toISOString(), counts: null },
    file: 'restore.pgdump',
  };
  function downloading(transfer: RunRecord['transfer']): RunRecord {
    return { ...startingRecord({ kind: 'restore', runId: '20261122T045000Z-abcdef', target: 'pg', now: new Date(NOW.getTime() - 60_000), slot: null, params }), transfer };
  }

  it('ends a download that got nowhere over three invocations, before asking S3 for anything', async () => {
    const run = downloading({ startedAt: '2026-11-22T02:00:00.000Z', done: 4096, idleInvocations: 3 });
    await state.createRun(run);
    const s3 = { send: () => Promise.reject(new Error('S3 must not be called')) };

    const step = await advanceJob({ ...deps(), s3, env: { bucket: 'b' } } as unknown as Deps, target, run, () => 'true', { downloadUntil: Date.now() + 60_000, waitUntil: 0 });

    expect(step).toMatchObject({ state: 'failed', kill: false, reason: 'the download made no progress over 3 invocations (4096 done): it is stuck' });
  });

  it('counts an invocation as idle before it downloads, so one killed mid-way counts too', async () => {
    const run = downloading({ startedAt: '2026-11-22T02:00:00.000Z', done: 4096, idleInvocations: 1 });
    await state.createRun(run);
    let seen: RunRecord['transfer'] = null;
    const s3 = {
      send: async () => {
        const file = await state.readRun('pg', NOW);
        seen = file.state === 'ok' ? file.record.transfer : null;
        throw new Error('the Lambda timed out');
      },
    };

    await advanceJob({ ...deps(), s3, env: { bucket: 'b' } } as unknown as Deps, target, run, () => 'true', { downloadUntil: Date.now() + 60_000, waitUntil: 0 });

    expect(seen).toEqual({ startedAt: '2026-11-22T02:00:00.000Z', done: 4096, idleInvocations: 2 });
  });

  it('fails, reading nothing, a run whose record names a bucket other than the configured replica (a changed run.json)', async () => {
    const run = { ...downloading(null), params: { ...params, from: { bucket: 'someone-elses-backups', region: 'eu-central-1' } } };
    await state.createRun(run);
    const s3 = { send: () => Promise.reject(new Error('S3 must not be called')) };
    const env = { bucket: 'b', keyPrefix: 'p/', replica: { bucket: 'b-replica', region: 'eu-central-1' }, fastPathSeconds: 0 };

    const outcome = await continueRestore({ ...deps(), s3, replicaS3: s3, env } as unknown as Deps, target, run, false, true);

    expect(outcome).toMatchObject({
      outcome: 'failed',
      reason: 'a restore reads s3://b or the replica s3://b-replica in eu-central-1 only, not s3://someone-elses-backups in eu-central-1',
    });
    expect(await state.readRun('pg', NOW)).toEqual({ state: 'none' });
  });
});
