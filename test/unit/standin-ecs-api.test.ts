import {
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ExecuteCommandCommand,
  ListTasksCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standin, StandinDefinition } from '../../scripts/standin/index.js';
import { startStandinWithClient } from '../helpers/standin.js';

const RUNNING = 'a'.repeat(32);
const NO_EXEC = 'b'.repeat(32);
const AGENT_STOPPED = 'c'.repeat(32);
const STOPPED = 'd'.repeat(32);
const OTHER_SERVICE = 'e'.repeat(32);
const ARN = 'arn:aws:ecs:eu-west-1:210987654321';

const definition: StandinDefinition = {
  region: 'eu-west-1',
  accountId: '210987654321',
  clusters: [
    {
      name: 'db',
      logging: 'OVERRIDE',
      tasks: [
        {
          id: RUNNING,
          service: 'pg',
          startedAt: '2026-05-01T10:00:00Z',
          taskRoleArn: 'arn:aws:iam::210987654321:role/pg-task',
          containers: [
            {
              name: 'postgres',
              env: { PGUSER: 'app' },
              readonlyRootFilesystem: true,
              initProcessEnabled: true,
              runtimeId: 'rt-1',
              efsVolume: { fileSystemId: 'fs-123', accessPointId: 'fsap-9', rootDirectory: '/', containerPath: '/var/lib/postgresql/data' },
            },
            { name: 'sidecar' },
          ],
        },
        { id: NO_EXEC, service: 'pg', enableExecuteCommand: false, containers: [{ name: 'postgres' }] },
        { id: AGENT_STOPPED, service: 'pg', containers: [{ name: 'postgres', agentStatus: 'STOPPED' }] },
        { id: STOPPED, service: 'pg', lastStatus: 'STOPPED', containers: [{ name: 'postgres' }] },
        { id: OTHER_SERVICE, service: 'redis', containers: [{ name: 'redis' }] },
      ],
    },
    { name: 'kms', kmsKeyId: 'arn:aws:kms:eu-west-1:210987654321:key/k1', tasks: [] },
  ],
};

let standin: Standin;
let ecs: ECSClient;

beforeAll(async () => {
  ({ standin, ecs } = await startStandinWithClient(definition));
});
afterAll(async () => {
  ecs.destroy();
  await standin.stop();
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('expected the call to fail');
}

describe('stand-in ECS API', () => {
  it.each([
    ['RUNNING tasks of a service', { serviceName: 'pg' }, [RUNNING, NO_EXEC, AGENT_STOPPED]],
    ['STOPPED tasks of a service', { serviceName: 'pg', desiredStatus: 'STOPPED' as const }, [STOPPED]],
    ['every RUNNING task of the cluster', {}, [RUNNING, NO_EXEC, AGENT_STOPPED, OTHER_SERVICE]],
  ])('lists %s', async (_name, filter, ids) => {
    const { taskArns } = await ecs.send(new ListTasksCommand({ cluster: 'db', ...filter }));
    expect(taskArns).toEqual(ids.map((id) => `${ARN}:task/db/${id}`));
  });

  it('fails ListTasks for an unknown cluster with ClusterNotFoundException', async () => {
    expect(await errorOf(ecs.send(new ListTasksCommand({ cluster: 'nope' })))).toEqual({ name: 'ClusterNotFoundException', message: 'Cluster not found.' });
  });

  it('describes tasks with real-looking ARNs, managed agents and failures for unknown ones', async () => {
    const { tasks = [], failures = [] } = await ecs.send(new DescribeTasksCommand({ cluster: `${ARN}:cluster/db`, tasks: [`${ARN}:task/db/${RUNNING}`, AGENT_STOPPED, 'f'.repeat(32)] }));
    expect(tasks.map((t) => t.taskArn)).toEqual([`${ARN}:task/db/${RUNNING}`, `${ARN}:task/db/${AGENT_STOPPED}`]);
    const task = tasks[0]!;
    expect(task).toMatchObject({
      clusterArn: `${ARN}:cluster/db`,
      taskDefinitionArn: `${ARN}:task-definition/pg:1`,
      lastStatus: 'RUNNING',
      enableExecuteCommand: true,
      startedAt: new Date('2026-05-01T10:00:00Z'),
      overrides: { containerOverrides: [{ name: 'postgres' }, { name: 'sidecar' }] },
    });
    expect(task.containers?.[0]).toMatchObject({ name: 'postgres', runtimeId: 'rt-1', managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }] });
    expect(task.containers?.[0]?.containerArn).toMatch(new RegExp(`^${ARN}:container/db/${RUNNING}/[0-9a-f-]{36}$`));
    expect(tasks[1]?.containers?.[0]?.managedAgents).toMatchObject([{ name: 'ExecuteCommandAgent', lastStatus: 'STOPPED' }]);
    expect(failures).toEqual([{ arn: `${ARN}:task/db/${'f'.repeat(32)}`, reason: 'MISSING' }]);
  });

  it('describes a cluster with its exec configuration only when CONFIGURATIONS is asked for', async () => {
    const withConfig = await ecs.send(new DescribeClustersCommand({ clusters: ['db', 'kms', 'nope'], include: ['CONFIGURATIONS'] }));
    expect(withConfig.clusters?.map((c) => c.configuration?.executeCommandConfiguration)).toEqual([
      { logging: 'OVERRIDE' },
      { logging: 'DEFAULT', kmsKeyId: 'arn:aws:kms:eu-west-1:210987654321:key/k1' },
    ]);
    expect(withConfig.failures).toEqual([{ arn: `${ARN}:cluster/nope`, reason: 'MISSING' }]);
    const plain = await ecs.send(new DescribeClustersCommand({ clusters: ['db'] }));
    expect(plain.clusters?.[0]).toMatchObject({ clusterName: 'db', status: 'ACTIVE', runningTasksCount: 4 });
    expect(plain.clusters?.[0]?.configuration).toBeUndefined();
  });

  it('describes the task definition behind a task', async () => {
    const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: `${ARN}:task-definition/pg:1` }));
    expect(taskDefinition).toMatchObject({
      family: 'pg',
      taskRoleArn: 'arn:aws:iam::210987654321:role/pg-task',
      containerDefinitions: [
        {
          name: 'postgres',
          readonlyRootFilesystem: true,
          linuxParameters: { initProcessEnabled: true },
          environment: [{ name: 'PGUSER', value: 'app' }],
          mountPoints: [{ sourceVolume: 'efs-postgres', containerPath: '/var/lib/postgresql/data' }],
        },
        { name: 'sidecar', readonlyRootFilesystem: false },
      ],
      volumes: [{ name: 'efs-postgres', efsVolumeConfiguration: { fileSystemId: 'fs-123', rootDirectory: '/', authorizationConfig: { accessPointId: 'fsap-9' } } }],
    });
  });

  it('starts a session with an ecs-execute-command id and a data-channel URL on the stand-in', async () => {
    const response = await ecs.send(new ExecuteCommandCommand({ cluster: 'db', task: RUNNING, container: 'postgres', interactive: true, command: 'true' }));
    expect(response).toMatchObject({ clusterArn: `${ARN}:cluster/db`, containerName: 'postgres', interactive: true, taskArn: `${ARN}:task/db/${RUNNING}` });
    const { sessionId, streamUrl, tokenValue } = response.session ?? {};
    expect(sessionId).toMatch(/^ecs-execute-command-[0-9a-f]+$/);
    expect(streamUrl).toBe(`${standin.endpoint.replace('http', 'ws')}/v1/data-channel/${sessionId}?role=publish_subscribe`);
    expect(tokenValue?.length).toBeGreaterThan(32);
  });

  const notEnabled =
    "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again.";
  it.each([
    ['a non-interactive call', { task: RUNNING, interactive: false }, 'InvalidParameterException', 'Interactive is the only mode supported currently.'],
    ['a task without exec', { task: NO_EXEC }, 'InvalidParameterException', notEnabled],
    ['a stopped agent', { task: AGENT_STOPPED }, 'InvalidParameterException', notEnabled],
    ['a stopped task', { task: STOPPED }, 'InvalidParameterException', notEnabled],
    ['an unknown task', { task: 'f'.repeat(32) }, 'InvalidParameterException', 'The specified task was not found.'],
    ['a malformed task id', { task: 'task-1' }, 'InvalidParameterException', 'task length should be one of [32,36]'],
    ['an unknown cluster', { cluster: 'nope' }, 'ClusterNotFoundException', 'Cluster not found.'],
    ['an unknown container', { container: 'nope' }, 'InvalidParameterException', 'The container nope was not found in the task.'],
  ])('rejects ExecuteCommand for %s', async (_name, overrides, name, message) => {
    const input = { cluster: 'db', task: RUNNING, container: 'postgres', interactive: true, command: 'true', ...overrides };
    expect(await errorOf(ecs.send(new ExecuteCommandCommand(input)))).toEqual({ name, message });
  });

  it('fails the first N ExecuteCommand calls with TargetNotConnectedException when faulted', async () => {
    standin.setFaults({ targetNotConnectedCalls: 2 });
    const call = () => ecs.send(new ExecuteCommandCommand({ cluster: 'db', task: RUNNING, container: 'postgres', interactive: true, command: 'true' }));
    const expected = { name: 'TargetNotConnectedException', message: 'The execute command failed due to an internal error. Try again later.' };
    expect(await errorOf(call())).toEqual(expected);
    expect(await errorOf(call())).toEqual(expected);
    await expect(call()).resolves.toMatchObject({ interactive: true });
    standin.setFaults({});
  });

  it('records every call with its input', async () => {
    await ecs.send(new ListTasksCommand({ cluster: 'db', serviceName: 'redis' }));
    expect(standin.calls.at(-1)).toEqual({ operation: 'ListTasks', input: { cluster: 'db', serviceName: 'redis' } });
  });

  it('reflects setTask and removeTask', async () => {
    const id = '9'.repeat(32);
    standin.setTask('db', { id, service: 'redis', containers: [{ name: 'redis' }] });
    expect((await ecs.send(new ListTasksCommand({ cluster: 'db', serviceName: 'redis' }))).taskArns).toHaveLength(2);
    standin.removeTask('db', id);
    expect((await ecs.send(new ListTasksCommand({ cluster: 'db', serviceName: 'redis' }))).taskArns).toEqual([`${ARN}:task/db/${OTHER_SERVICE}`]);
  });
});
