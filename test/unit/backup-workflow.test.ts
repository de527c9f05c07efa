import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { EcsExec } from '../../functions/shared/exec/exec-client.js';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../functions/orchestrator/backup/backup-workflow.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { EfsState } from '../../functions/shared/adapters/efs-state.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { startingRecord, type RunRecord } from '../../functions/shared/core/run-record.js';

const ecsMock = mockClient(ECSClient);
const target = targetSchema.parse({ name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' });
const NOW = new Date('2026-11-22T05:00:00Z');
const TASK = { taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/t1', taskId: 't1', clusterArn: 'arn:aws:ecs:eu-west-1:1:cluster/c', container: 'k' };

let root: string;
let emitted: string[];

beforeEach(async () => {
  ecsMock.reset();
  root = await mkdtemp(join(tmpdir(), 'backup-workflow-'));
  emitted = [];
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function deps(state: EfsState, exec?: Partial<EcsExec>): Deps {
  return {
    exec,
    env: { bucket: 'b', keyPrefix: 'p/', fastPathSeconds: 0 },
    ecs: new ECSClient({ region: 'eu-west-1' }),
    s3: new S3Client({ region: 'eu-west-1' }),
    state,
    telemetry: {
      logger: { warn: () => undefined, info: () => undefined, error: () => undefined },
      emit: (_target: string, values: Record<string, number>) => emitted.push(...Object.keys(values)),
    },
    deadline: Date.now() + 60_000,
    now: () => NOW,
    sleep: async () => undefined,
  } as unknown as Deps;
}

function runningBackup(): RunRecord {
  const run = startingRecord({ kind: 'backup', runId: '20261122T045000Z-abcdef', target: 'pg', now: new Date(NOW.getTime() - 60_000), slot: null });
  return { ...run, phase: 'running', task: TASK, pid: 42, startedAt: run.createdAt };
}

describe('runBackup on a run another invocation ends meanwhile', () => {
  it('reports the target busy instead of failing the ended run', async () => {
    // Another invocation finishes the run (and frees the lease) between this one's read of run.json and its lease.
    class RacingState extends EfsState {
      override async takeLease(...args: Parameters<EfsState['takeLease']>): Promise<boolean> {
        await this.removeRun('pg', runningBackup().runId);
        return super.takeLease(...args);
      }
    }
    const state = new RacingState(root);
    await state.createRun(runningBackup());
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK.taskArn, lastStatus: 'STOPPED' }] });

    const outcome = await runBackup(deps(state), target, true);

    expect(outcome).toMatchObject({ outcome: 'busy', reason: 'another invocation has ended this run' });
    expect(emitted).toEqual([]);
    expect(await state.readLastFailure('pg')).toBeNull();
  });
});

describe('runBackup on a running dump', () => {
  it('waits, without a failure, when ECS cannot say whether the task runs', async () => {
    const state = new EfsState(root);
    await state.createRun(runningBackup());
    ecsMock.on(DescribeTasksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const exec = { run: async () => ({ output: 'job-alive\n', exitCode: 0, droppedBytes: 0, sessionId: 's' }) };

    const outcome = await runBackup(deps(state, exec), target, true);

    expect(outcome).toMatchObject({ outcome: 'waiting' });
    expect(emitted).toEqual([]);
    expect(await state.readRun('pg', NOW)).toMatchObject({ state: 'ok', record: { runId: runningBackup().runId } });
  });
});
