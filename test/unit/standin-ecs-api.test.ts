import {
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ExecuteCommandCommand,
  ListTasksCommand,
  UpdateServiceCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcsApiError, type Standin, type StandinDefinition } from '../../scripts/standin/index.js';
import { pickTask } from '../../functions/shared/exec/task-picker.js';
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
/** What the onForceNewDeployment hook was called with; `failWith` makes it throw. */
const restarts: { cluster: string; service: string }[] = [];
let failWith: Error | undefined;

beforeAll(async () => {
  ({ standin, ecs } = await startStandinWithClient(definition, {
    onForceNewDeployment: async (cluster, service) => {
      await new Promise((r) => setTimeout(r, 20));
      if (failWith) throw failWith;
      restarts.push({ cluster, service });
    },
  }));
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

describe('stand-in UpdateService', () => {
  it.each([
    ['a service name', { cluster: 'db', service: 'redis' }],
    ['ARNs', { cluster: `${ARN}:cluster/db`, service: `${ARN}:service/db/redis` }],
  ])('answers with the service, its cluster and its deployment for %s', async (_name, refs) => {
    const { service } = await ecs.send(new UpdateServiceCommand(refs));
    expect(service).toMatchObject({
      serviceArn: `${ARN}:service/db/redis`,
      serviceName: 'redis',
      clusterArn: `${ARN}:cluster/db`,
      status: 'ACTIVE',
      desiredCount: 1,
      runningCount: 1,
      taskDefinition: `${ARN}:task-definition/redis:1`,
      deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 1 }],
    });
    expect(service?.deployments?.[0]?.id).toMatch(/^ecs-svc\/\d{19}$/);
  });

  it('counts only RUNNING tasks of the service and keeps a desired count it was given', async () => {
    const first = await ecs.send(new UpdateServiceCommand({ cluster: 'db', service: 'pg' }));
    expect(first.service).toMatchObject({ serviceName: 'pg', desiredCount: 3, runningCount: 3 });
    await ecs.send(new UpdateServiceCommand({ cluster: 'db', service: 'pg', desiredCount: 2 }));
    const again = await ecs.send(new UpdateServiceCommand({ cluster: 'db', service: 'pg' }));
    expect(again.service).toMatchObject({ desiredCount: 2, runningCount: 3 });
  });

  it('starts a new primary deployment and runs the hook before answering when forceNewDeployment is true', async () => {
    restarts.length = 0;
    const before = await ecs.send(new UpdateServiceCommand({ cluster: 'db', service: 'redis' }));
    expect(restarts).toEqual([]);
    const { service } = await ecs.send(new UpdateServiceCommand({ cluster: 'db', service: 'redis', forceNewDeployment: true }));
    expect(restarts).toEqual([{ cluster: 'db', service: 'redis' }]);
    expect(service?.deployments?.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(service?.deployments?.[1]?.id).toBe(before.service?.deployments?.[0]?.id);
    expect(service?.deployments?.[0]?.id).not.toBe(before.service?.deployments?.[0]?.id);
    expect(standin.calls.at(-1)).toEqual({ operation: 'UpdateService', input: { cluster: 'db', service: 'redis', forceNewDeployment: true } });
  });

  it.each([
    ['an unknown service', { cluster: 'db', service: 'nope' }, 'ServiceNotFoundException', 'Service not found.'],
    ['a service of another cluster', { cluster: 'kms', service: 'redis' }, 'ServiceNotFoundException', 'Service not found.'],
    ['an unknown cluster', { cluster: 'nope', service: 'redis' }, 'ClusterNotFoundException', 'Cluster not found.'],
    ['a negative desired count', { cluster: 'db', service: 'redis', desiredCount: -1 }, 'InvalidParameterException', 'Desired count must be a non-negative integer.'],
  ])('rejects %s without running the hook', async (_name, input, name, message) => {
    restarts.length = 0;
    expect(await errorOf(ecs.send(new UpdateServiceCommand({ ...input, forceNewDeployment: true })))).toEqual({ name, message });
    expect(restarts).toEqual([]);
  });

  it.each([
    ['an EcsApiError', new EcsApiError('AccessDeniedException', 'not allowed'), { name: 'AccessDeniedException', message: 'not allowed' }],
    ['any other error', new Error('boom'), { name: 'ServerException', message: 'Error: boom' }],
  ])('fails the call when the hook throws %s', async (_name, error, expected) => {
    failWith = error;
    try {
      expect(await errorOf(ecs.send(new UpdateServiceCommand({ cluster: 'db', service: 'redis', forceNewDeployment: true })))).toEqual(expected);
    } finally {
      failWith = undefined;
    }
  });

  it('answers without a hook when none is given, and setForceNewDeploymentHook replaces it', async () => {
    const { standin: bare, ecs: bareEcs } = await startStandinWithClient(definition);
    try {
      await expect(bareEcs.send(new UpdateServiceCommand({ cluster: 'db', service: 'redis', forceNewDeployment: true }))).resolves.toMatchObject({ service: { serviceName: 'redis' } });
      const seen: string[] = [];
      bare.setForceNewDeploymentHook((cluster, service) => void seen.push(`${cluster}/${service}`));
      await bareEcs.send(new UpdateServiceCommand({ cluster: 'db', service: 'redis', forceNewDeployment: true }));
      bare.setForceNewDeploymentHook(undefined);
      await bareEcs.send(new UpdateServiceCommand({ cluster: 'db', service: 'redis', forceNewDeployment: true }));
      expect(seen).toEqual(['db/redis']);
    } finally {
      bareEcs.destroy();
      await bare.stop();
    }
  });
});

describe('ListTasks paging, as ECS pages it', () => {
  // 150 tasks of one service; the newest is on the second page.
  const ids = Array.from({ length: 150 }, (_, i) => i.toString(16).padStart(32, '0'));
  const many: StandinDefinition = {
    clusters: [
      {
        name: 'big',
        tasks: ids.map((id, i) => ({ id, service: 'pg', startedAt: new Date(Date.UTC(2026, 0, 1) + (i === 130 ? -1000 : -i) * 60_000).toISOString(), containers: [{ name: 'postgres' }] })),
      },
    ],
  };
  let big: { standin: Standin; ecs: ECSClient };
  beforeAll(async () => {
    big = await startStandinWithClient(many);
  });
  afterAll(async () => {
    big.ecs.destroy();
    await big.standin.stop();
  });

  it('answers 100 tasks a page with a nextToken, and the rest on the next page', async () => {
    const first = await big.ecs.send(new ListTasksCommand({ cluster: 'big', serviceName: 'pg' }));
    expect(first.taskArns).toHaveLength(100);
    expect(first.nextToken).toEqual(expect.any(String));
    const second = await big.ecs.send(new ListTasksCommand({ cluster: 'big', serviceName: 'pg', nextToken: first.nextToken }));
    expect(second.taskArns).toHaveLength(50);
    expect(second.nextToken).toBeUndefined();
    expect(new Set([...first.taskArns!, ...second.taskArns!]).size).toBe(150);
  });

  it('honours a smaller maxResults and refuses one over 100, a forged nextToken and DescribeTasks of 101 tasks', async () => {
    const page = await big.ecs.send(new ListTasksCommand({ cluster: 'big', maxResults: 40 }));
    expect(page.taskArns).toHaveLength(40);
    expect(await errorOf(big.ecs.send(new ListTasksCommand({ cluster: 'big', maxResults: 101 })))).toEqual({ name: 'InvalidParameterException', message: 'maxResults must be between 1 and 100.' });
    expect(await errorOf(big.ecs.send(new ListTasksCommand({ cluster: 'big', nextToken: 'forged' })))).toEqual({ name: 'InvalidParameterException', message: 'Invalid nextToken.' });
    expect(await errorOf(big.ecs.send(new DescribeTasksCommand({ cluster: 'big', tasks: ids.slice(0, 101) })))).toEqual({ name: 'InvalidParameterException', message: 'Tasks cannot have more than 100 elements.' });
  });

  it('lets pickTask page through ListTasks and describe in batches of 100, finding the longest-running task on page 2', async () => {
    const before = big.standin.calls.length;
    expect((await pickTask(big.ecs, 'big', 'pg', 'postgres')).taskId).toBe(ids[130]);
    expect(big.standin.calls.slice(before).map((c) => c.operation)).toEqual(['ListTasks', 'ListTasks', 'DescribeTasks', 'DescribeTasks']);
  });
});
