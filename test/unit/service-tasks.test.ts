import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cachedServiceTasks, describeServiceTasks, SERVICE_TASKS_TTL_MS } from '../../functions/shared/exec/service-tasks.js';

const ecsMock = mockClient(ECSClient);
const ecs = new ECSClient({ region: 'eu-west-1' });
const arn = (i: number) => `arn:aws:ecs:eu-west-1:123456789012:task/db/${String(i).padStart(32, '0')}`;

/** A service with `count` tasks, listed 100 a page like ECS. */
function serve(count: number): void {
  ecsMock.on(ListTasksCommand).callsFake((input: { nextToken?: string }) => {
    const from = Number(input.nextToken ?? 0);
    const to = Math.min(count, from + 100);
    return { taskArns: Array.from({ length: to - from }, (_, i) => arn(from + i)), ...(to < count ? { nextToken: String(to) } : {}) };
  });
  ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => {
    if (input.tasks.length > 100) throw new Error('InvalidParameterException: Tasks cannot be longer than 100');
    return { tasks: input.tasks.map((taskArn) => ({ taskArn, lastStatus: 'RUNNING' })) };
  });
}

beforeEach(() => ecsMock.reset());

describe('describeServiceTasks', () => {
  it('describes every page of a big service, at most 100 tasks a call', async () => {
    serve(250);
    const tasks = await describeServiceTasks(ecs, 'db', 'pg');
    expect(tasks.map((t) => t.taskArn)).toEqual(Array.from({ length: 250 }, (_, i) => arn(i)));
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(3);
    expect(ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([100, 100, 50]);
  });
});

describe('cachedServiceTasks', () => {
  it('asks ECS once per cluster and service, concurrent askers included', async () => {
    serve(3);
    const source = cachedServiceTasks(ecs);
    await Promise.all([source.running('db', 'pg'), source.running('db', 'pg'), source.running('db', 'redis'), source.running('other', 'pg')]);
    await source.running('db', 'pg');
    const asked = ecsMock.commandCalls(ListTasksCommand).map((c) => [c.args[0].input.cluster, c.args[0].input.serviceName]);
    expect(asked).toEqual([['db', 'pg'], ['db', 'redis'], ['other', 'pg']]);
  });

  it('asks again once the answer is a minute old', async () => {
    serve(1);
    let clock = 0;
    const source = cachedServiceTasks(ecs, () => clock);
    await source.running('db', 'pg');
    clock = SERVICE_TASKS_TTL_MS - 1;
    await source.running('db', 'pg');
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(1);
    clock = SERVICE_TASKS_TTL_MS;
    await source.running('db', 'pg');
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(2);
  });

  it('keeps no failure: the next asker tries ECS again', async () => {
    ecsMock.on(ListTasksCommand).rejectsOnce(new Error('ServerException')).resolves({ taskArns: [] });
    const source = cachedServiceTasks(ecs);
    await expect(source.running('db', 'pg')).rejects.toThrow('ServerException');
    expect(await source.running('db', 'pg')).toEqual([]);
  });
});
