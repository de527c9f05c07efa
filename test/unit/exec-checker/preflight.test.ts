import { DescribeClustersCommand, DescribeContainerInstancesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { callerIdentity } from '../../../functions/shared/exec-checker/caller-identity.js';
import { loadContext } from '../../../functions/shared/exec-checker/context.js';
import { ExecCheckError } from '../../../functions/shared/exec-checker/errors.js';
import { orchestratorTask } from '../../../functions/shared/exec-checker/resolve-task.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';
import { goodBackup, goodCluster, goodFunction, goodTask, goodTaskDefinition, IDS, mockedClients } from './fixtures.js';

const brief = (results: CheckResult[]) => results.map((r) => [r.verdict, r.title, r.message, r.fix]);

describe('caller-identity', () => {
  const roleArn = 'arn:aws:iam::123456789012:role/ops/admin';
  it.each([
    ['a user', IDS.callerArn, { principalArn: IDS.callerArn }, ['green', 'Caller identity', IDS.callerArn, undefined]],
    ['a role', roleArn, { principalArn: roleArn }, ['green', 'Caller identity', roleArn, undefined]],
    [
      'an assumed role (mapped with its path kept)',
      'arn:aws:sts::123456789012:assumed-role/admin/alice',
      { principalArn: roleArn },
      ['green', 'Caller identity', `arn:aws:sts::123456789012:assumed-role/admin/alice (as ${roleArn})`, undefined],
    ],
    [
      'the root user',
      'arn:aws:iam::123456789012:root',
      undefined,
      ['red', 'Caller identity', 'the ARN arn:aws:iam::123456789012:root is not supported: IAM can only simulate users, roles and groups', 'run the checker with an IAM user or role (not the root user or a federated user)'],
    ],
    [
      'a federated user',
      'arn:aws:sts::123456789012:federated-user/bob',
      undefined,
      ['red', 'Caller identity', 'the ARN arn:aws:sts::123456789012:federated-user/bob is not supported: IAM can only simulate users, roles and groups', 'run the checker with an IAM user or role (not the root user or a federated user)'],
    ],
  ])('accepts %s', async (_, arn, caller, expected) => {
    const { clients, mocks } = mockedClients();
    mocks.sts.on(GetCallerIdentityCommand).resolves({ Arn: arn, Account: IDS.account });
    mocks.iam.on(GetRoleCommand, { RoleName: 'admin' }).resolves({ Role: { Arn: roleArn, RoleName: 'admin', Path: '/ops/', RoleId: 'AROA', CreateDate: new Date() } });
    const out = await callerIdentity(clients);
    expect(brief([out.result])).toEqual([expected]);
    expect(out.caller?.principalArn).toBe(caller?.principalArn);
  });

  it.each([
    ['GetCallerIdentity fails', 'sts', ['red', 'Caller identity', 'sts:GetCallerIdentity failed: ExpiredToken', 'configure AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION']],
    [
      'GetRole is denied',
      'iam',
      ['red', 'Caller identity', 'failed to get the role ARN of the caller arn:aws:sts::123456789012:assumed-role/admin/alice: ExpiredToken', 'allow iam:GetRole on role admin for the caller, or run the checker as an IAM user or role'],
    ],
  ])('reports when %s', async (_, failing, expected) => {
    const { clients, mocks } = mockedClients();
    if (failing === 'sts') mocks.sts.on(GetCallerIdentityCommand).rejects(new Error('ExpiredToken'));
    else {
      mocks.sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:sts::123456789012:assumed-role/admin/alice', Account: IDS.account });
      mocks.iam.on(GetRoleCommand).rejects(new Error('ExpiredToken'));
    }
    expect(brief([(await callerIdentity(clients)).result])).toEqual([expected]);
  });
});

describe('loadContext', () => {
  function world() {
    const { clients, mocks } = mockedClients();
    mocks.sts.on(GetCallerIdentityCommand).resolves({ Arn: IDS.callerArn, Account: IDS.account });
    mocks.ecs.on(DescribeTasksCommand, { cluster: 'prod', tasks: ['0123456789abcdef'] }).resolves({ tasks: [goodTask()] });
    mocks.ecs.on(DescribeClustersCommand, { clusters: [IDS.clusterArn], include: ['CONFIGURATIONS'] }).resolves({ clusters: [goodCluster()] });
    mocks.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: IDS.taskDefinitionArn }).resolves({ taskDefinition: goodTaskDefinition() });
    mocks.lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'ecs-db-backup-orchestrator' }).resolves(goodFunction());
    return { clients, mocks };
  }

  it('gathers the task, cluster, task definition and the orchestrator once', async () => {
    const { clients, mocks } = world();
    const backup = goodBackup();
    const out = await loadContext(clients, { cluster: 'prod', task: '0123456789abcdef', backup: { config: backup.config, target: backup.target, functionName: 'ecs-db-backup-orchestrator' } });
    expect(brief(out.preflight).map((r) => r[0])).toEqual(['green', 'green']);
    expect(out.preflight[1]?.message).toBe(`${IDS.taskArn} (${IDS.taskDefinitionArn})`);
    expect(out.context?.region).toBe('eu-west-1');
    expect(out.context?.containers).toEqual(['postgres']);
    expect(out.context?.backup?.orchestrator).toEqual({ configuration: goodFunction() });
    expect(mocks.ecs.commandCalls(DescribeTasksCommand)).toHaveLength(1);
    expect(mocks.ecs.commandCalls(DescribeContainerInstancesCommand)).toHaveLength(0);
  });

  it.each([
    ['a missing task', { tasks: [], failures: [{ arn: 'x', reason: 'MISSING' }] }, 'task nope does not exist in cluster prod (MISSING)'],
    ['a task without definition', { tasks: [{ taskArn: 'x' }] }, 'task nope does not exist in cluster prod'],
  ])('stops at %s', async (_, answer, message) => {
    const { clients, mocks } = world();
    mocks.ecs.on(DescribeTasksCommand, { cluster: 'prod', tasks: ['nope'] }).resolves(answer);
    const out = await loadContext(clients, { cluster: 'prod', task: 'nope' });
    expect(out.context).toBeUndefined();
    expect(brief(out.preflight)[1]).toEqual(['red', 'Task exists', message, 'pass a RUNNING task from `aws ecs list-tasks --cluster prod` (stopped tasks disappear after about an hour)']);
  });

  it('stops when DescribeTasks fails', async () => {
    const { clients, mocks } = world();
    mocks.ecs.on(DescribeTasksCommand).rejects(new Error('ClusterNotFoundException: Cluster not found.'));
    const out = await loadContext(clients, { cluster: 'prod', task: 'x' });
    expect(out.preflight[1]?.message).toBe('task x does not exist in cluster prod: ClusterNotFoundException: Cluster not found.');
  });

  it('stops when the task details cannot be read', async () => {
    const { clients, mocks } = world();
    mocks.ecs.on(DescribeTaskDefinitionCommand).rejects(new Error('AccessDeniedException'));
    const out = await loadContext(clients, { cluster: 'prod', task: '0123456789abcdef' });
    expect(out.context).toBeUndefined();
    expect(brief(out.preflight)[2]).toEqual([
      'red',
      'Task details',
      'cannot describe the cluster, task definition or container instance: AccessDeniedException',
      'allow ecs:DescribeClusters, ecs:DescribeTaskDefinition and ecs:DescribeContainerInstances for the caller',
    ]);
  });

  it('stops at a container the task does not have', async () => {
    const { clients } = world();
    const out = await loadContext(clients, { cluster: 'prod', task: '0123456789abcdef', container: 'mysql' });
    expect(out.context).toBeUndefined();
    expect(brief(out.preflight)[2]).toEqual(['red', 'Container exists', `container mysql is not in task ${IDS.taskArn}`, 'pass one of: postgres']);
  });

  it('resolves a KMS alias and describes the container instance of an EC2 task', async () => {
    const { clients, mocks } = world();
    mocks.ecs.on(DescribeTasksCommand).resolves({ tasks: [{ ...goodTask(), launchType: 'EC2', containerInstanceArn: 'ci-1' }] });
    mocks.ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ ec2InstanceId: 'i-1' }] });
    mocks.ecs.on(DescribeClustersCommand).resolves({ clusters: [{ ...goodCluster(), configuration: { executeCommandConfiguration: { kmsKeyId: 'alias/exec' } } }] });
    mocks.kms.on(DescribeKeyCommand, { KeyId: 'alias/exec' }).resolves({ KeyMetadata: { KeyId: 'k', Arn: IDS.kmsKeyArn } });
    const out = await loadContext(clients, { cluster: 'prod', task: '0123456789abcdef' });
    expect(out.context?.execKmsKeyArn).toBe(IDS.kmsKeyArn);
    expect(out.context?.containerInstance).toEqual({ ec2InstanceId: 'i-1' });
  });

  it('keeps going with a red caller line when the caller is unknown, and records a missing function', async () => {
    const { clients, mocks } = world();
    mocks.sts.on(GetCallerIdentityCommand).rejects(new Error('no credentials'));
    mocks.lambda.on(GetFunctionConfigurationCommand).rejects(new Error('Function not found'));
    const backup = goodBackup();
    const out = await loadContext(clients, { cluster: 'prod', task: '0123456789abcdef', backup: { config: backup.config, target: backup.target, functionName: 'f' } });
    expect(out.preflight.map((r) => r.verdict)).toEqual(['red', 'green']);
    expect(out.context?.caller).toBeUndefined();
    expect(out.context?.backup?.orchestrator).toEqual({ error: 'Function not found' });
  });
});

describe('orchestratorTask', () => {
  const agent = (status: string) => [{ name: 'postgres', managedAgents: [{ name: 'ExecuteCommandAgent' as const, lastStatus: status }] }];
  it('picks the task the orchestrator would: the RUNNING one that has run longest with its agent running, across pages', async () => {
    const { clients, mocks } = mockedClients();
    mocks.ecs
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: ['a', 'b', 'c'], nextToken: 'n' })
      .resolvesOnce({ taskArns: ['d'] });
    mocks.ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        { taskArn: 'a', lastStatus: 'RUNNING', startedAt: new Date('2026-10-01T00:00:00Z'), containers: agent('PENDING') },
        { taskArn: 'b', lastStatus: 'PENDING', startedAt: new Date('2026-10-02T00:00:00Z'), containers: agent('RUNNING') },
        { taskArn: 'c', lastStatus: 'RUNNING', startedAt: new Date('2026-11-03T00:00:00Z'), containers: agent('RUNNING') },
        { taskArn: 'd', lastStatus: 'RUNNING', startedAt: new Date('2026-11-02T00:00:00Z'), containers: agent('RUNNING') },
      ],
    });
    expect(await orchestratorTask(clients.ecs, 'prod', 'orders-db', 'postgres')).toBe('d');
    expect(mocks.ecs.commandCalls(ListTasksCommand)[0]?.args[0].input).toEqual({ cluster: 'prod', serviceName: 'orders-db', desiredStatus: 'RUNNING', nextToken: undefined });
  });

  it('falls back to the longest-running task when no agent runs, so its checks say why', async () => {
    const { clients, mocks } = mockedClients();
    mocks.ecs.on(ListTasksCommand).resolves({ taskArns: ['a', 'b'] });
    mocks.ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        { taskArn: 'b', lastStatus: 'RUNNING', startedAt: new Date('2026-11-03T00:00:00Z'), containers: agent('STOPPED') },
        { taskArn: 'a', lastStatus: 'RUNNING', startedAt: new Date('2026-11-01T00:00:00Z'), containers: agent('PENDING') },
      ],
    });
    expect(await orchestratorTask(clients.ecs, 'prod', 'orders-db', 'postgres')).toBe('a');
  });

  it('says what to do when the service has no RUNNING task', async () => {
    const { clients, mocks } = mockedClients();
    mocks.ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    await expect(orchestratorTask(clients.ecs, 'prod', 'orders-db', 'postgres')).rejects.toThrow(
      new ExecCheckError('service orders-db in cluster prod has no RUNNING task: start it (desired count ≥ 1) or pass --task'),
    );
  });
});
