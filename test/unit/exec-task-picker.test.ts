import { DescribeTasksCommand, ECSClient, ListTasksCommand, type Task } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AgentNotRunningError, ExecNotEnabledError, NoRunningTaskError } from '../../functions/shared/exec/errors.js';
import { pickTask } from '../../functions/shared/exec/task-picker.js';

const ecsMock = mockClient(ECSClient);
const ecs = new ECSClient({ region: 'eu-west-1' });
const CLUSTER_ARN = 'arn:aws:ecs:eu-west-1:123456789012:cluster/db';

function task(id: string, options: { startedMinute?: number; agent?: string; enabled?: boolean; container?: string; lastStatus?: string } = {}): Task {
  return {
    taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/db/${id}`,
    clusterArn: CLUSTER_ARN,
    lastStatus: options.lastStatus ?? 'RUNNING',
    enableExecuteCommand: options.enabled ?? true,
    ...(options.startedMinute === undefined ? {} : { startedAt: new Date(Date.UTC(2026, 0, 1, 0, options.startedMinute)) }),
    containers: [
      {
        name: options.container ?? 'postgres',
        runtimeId: `${id}-runtime`,
        managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: options.agent ?? 'RUNNING' }],
      },
    ],
  };
}

function serve(tasks: Task[]): void {
  ecsMock.on(ListTasksCommand).resolves({ taskArns: tasks.map((t) => t.taskArn as string) });
  ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({ tasks: tasks.filter((t) => input.tasks.includes(t.taskArn as string)) }));
}

beforeEach(() => {
  ecsMock.reset();
});

describe('pickTask', () => {
  it.each([
    // A rolling deploy: the newest task may be a freshly initialised, near-empty instance.
    ['picks the RUNNING task that has run longest, not the newest', [task('mid', { startedMinute: 5 }), task('new', { startedMinute: 9 }), task('old', { startedMinute: 1 })], 'old'],
    ['skips the oldest task when its agent is not RUNNING', [task('old', { startedMinute: 1, agent: 'PENDING' }), task('new', { startedMinute: 9 }), task('mid', { startedMinute: 5 })], 'mid'],
    ['skips a task without ECS Exec', [task('old', { startedMinute: 1, enabled: false }), task('mid', { startedMinute: 5 })], 'mid'],
    ['skips a task that is still starting', [task('old', { startedMinute: 1, lastStatus: 'PENDING' }), task('mid', { startedMinute: 5 })], 'mid'],
    ['skips a task without the container', [task('old', { startedMinute: 1, container: 'sidecar' }), task('mid', { startedMinute: 5 })], 'mid'],
    ['puts a task without a start time after those with one', [task('unknown'), task('new', { startedMinute: 9 })], 'new'],
  ])('%s', async (_name, tasks, expectedId) => {
    serve(tasks);
    const picked = await pickTask(ecs, 'db', 'postgres-svc', 'postgres');
    expect(picked.taskId).toBe(expectedId);
    expect(picked).toMatchObject({
      taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/db/${expectedId}`,
      clusterArn: CLUSTER_ARN,
      container: 'postgres',
      runtimeId: `${expectedId}-runtime`,
    });
  });

  it('lists only RUNNING tasks of the service', async () => {
    serve([task('a', { startedMinute: 1 })]);
    await pickTask(ecs, 'db', 'postgres-svc', 'postgres');
    expect(ecsMock.commandCalls(ListTasksCommand)[0]?.args[0].input).toEqual({ cluster: 'db', serviceName: 'postgres-svc', desiredStatus: 'RUNNING' });
  });

  it('follows ListTasks pages and describes tasks 100 at a time', async () => {
    const tasks = Array.from({ length: 150 }, (_, i) => task(`t${i}`, { startedMinute: i % 60, agent: i === 42 ? 'RUNNING' : 'STOPPED' }));
    ecsMock
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: tasks.slice(0, 100).map((t) => t.taskArn as string), nextToken: 'page2' })
      .resolvesOnce({ taskArns: tasks.slice(100).map((t) => t.taskArn as string) });
    ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({ tasks: tasks.filter((t) => input.tasks.includes(t.taskArn as string)) }));
    const picked = await pickTask(ecs, 'db', 'postgres-svc', 'postgres');
    expect(picked.taskId).toBe('t42');
    expect(ecsMock.commandCalls(ListTasksCommand)[1]?.args[0].input.nextToken).toBe('page2');
    expect(ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([100, 50]);
  });

  it.each([
    ['no task runs', [], NoRunningTaskError, /no RUNNING task/],
    ['every agent is down', [task('a', { agent: 'PENDING' }), task('b', { agent: 'STOPPED' })], AgentNotRunningError, /running ECS Exec agent/],
    ['no task has ECS Exec', [task('a', { enabled: false })], ExecNotEnabledError, /enableExecuteCommand/],
    ['no task has the container', [task('a', { container: 'sidecar' })], NoRunningTaskError, /no container named postgres|container named postgres/],
  ])('fails clearly when %s', async (_name, tasks, type, message) => {
    serve(tasks);
    const picking = pickTask(ecs, 'db', 'postgres-svc', 'postgres');
    await expect(picking).rejects.toThrow(type);
    await expect(picking).rejects.toThrow(message);
  });
});
