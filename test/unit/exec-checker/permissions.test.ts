import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { callerPermissions } from '../../../functions/shared/exec-checker/caller-permissions.js';
import { orchestratorPermission } from '../../../functions/shared/exec-checker/orchestrator-permission.js';
import { execContext, simulate } from '../../../functions/shared/exec-checker/simulate.js';
import { taskRole } from '../../../functions/shared/exec-checker/task-role.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';
import { goodBackup, goodTask, goodTaskDefinition, IDS, makeContext, simulateWith } from './fixtures.js';

const brief = (results: CheckResult[]) => results.map((r) => [r.verdict, r.title, r.message, r.fix]);
const allow = () => 'allowed';

describe('simulate', () => {
  it('passes the condition context and reads per-resource decisions', async () => {
    const { ctx, mocks } = makeContext();
    simulateWith(mocks.iam, (_, resource) => (resource === IDS.taskArn ? 'explicitDeny' : 'allowed'));
    const decisions = await simulate(ctx.clients.iam, IDS.callerArn, ['ecs:ExecuteCommand'], [IDS.clusterArn, IDS.taskArn], execContext(ctx.task, 'postgres'));
    expect(decisions).toEqual([
      { action: 'ecs:ExecuteCommand', resource: IDS.clusterArn, decision: 'allowed' },
      { action: 'ecs:ExecuteCommand', resource: IDS.taskArn, decision: 'explicitDeny' },
    ]);
    expect(mocks.iam.commandCalls(SimulatePrincipalPolicyCommand)[0]?.args[0].input.ContextEntries).toEqual([
      { ContextKeyName: 'ecs:cluster', ContextKeyType: 'string', ContextKeyValues: [IDS.clusterArn] },
      { ContextKeyName: 'ecs:task', ContextKeyType: 'string', ContextKeyValues: [IDS.taskArn] },
      { ContextKeyName: 'ecs:container-name', ContextKeyType: 'string', ContextKeyValues: ['postgres'] },
    ]);
  });

  it('follows the Marker of a truncated answer and reads the overall decision when there are no per-resource results', async () => {
    const { ctx, mocks } = makeContext();
    mocks.iam
      .on(SimulatePrincipalPolicyCommand)
      .resolvesOnce({ IsTruncated: true, Marker: 'm', EvaluationResults: [{ EvalActionName: 'a', EvalDecision: 'allowed', EvalResourceName: '*' }] })
      .resolvesOnce({ EvaluationResults: [{ EvalActionName: 'b', EvalDecision: 'implicitDeny', EvalResourceName: '*' }] });
    expect(await simulate(ctx.clients.iam, IDS.callerArn, ['a', 'b'], ['*'])).toEqual([
      { action: 'a', resource: '*', decision: 'allowed' },
      { action: 'b', resource: '*', decision: 'implicitDeny' },
    ]);
    expect(mocks.iam.commandCalls(SimulatePrincipalPolicyCommand)[1]?.args[0].input.Marker).toBe('m');
  });
});

describe('caller-permissions', () => {
  it.each([
    ['everything allowed but StartSession denied', (a: string) => (a === 'ssm:StartSession' ? 'implicitDeny' : 'allowed'), [
      ['green', 'Caller can ExecuteCommand (postgres)', `allowed for ${IDS.callerArn}`, undefined],
      ['green', 'Caller is denied ssm:StartSession', 'implicitDeny on the task', undefined],
    ]],
    ['StartSession allowed', allow, [
      ['green', 'Caller can ExecuteCommand (postgres)', `allowed for ${IDS.callerArn}`, undefined],
      ['yellow', 'Caller is denied ssm:StartSession', `ssm:StartSession is allowed on ${IDS.taskArn}`, 'deny ssm:StartSession on ECS tasks so sessions go through ECS Exec and its audit logging'],
    ]],
    ['ExecuteCommand denied on the task by a condition', (a: string, r: string) => (a === 'ecs:ExecuteCommand' && r === IDS.taskArn ? 'implicitDeny' : a === 'ssm:StartSession' ? 'explicitDeny' : 'allowed'), [
      [
        'red',
        'Caller can ExecuteCommand (postgres)',
        `implicitDeny on ${IDS.taskArn} for ${IDS.callerArn}`,
        `allow ecs:ExecuteCommand on ${IDS.clusterArn} and ${IDS.taskArn} for ${IDS.callerArn} (and check its conditions on ecs:cluster, ecs:task, ecs:container-name)`,
      ],
      ['green', 'Caller is denied ssm:StartSession', 'explicitDeny on the task', undefined],
    ]],
  ])('reports %s', async (_, decide, expected) => {
    const { ctx, mocks } = makeContext();
    simulateWith(mocks.iam, decide);
    expect(brief(await callerPermissions(ctx))).toEqual(expected);
  });

  it.each([
    ['allowed', 'allowed', ['green', 'Caller can use the exec KMS key', `kms:GenerateDataKey allowed on ${IDS.kmsKeyArn}`, undefined]],
    ['denied', 'implicitDeny', ['red', 'Caller can use the exec KMS key', `kms:GenerateDataKey is implicitDeny on ${IDS.kmsKeyArn}`, `allow kms:GenerateDataKey on ${IDS.kmsKeyArn} for ${IDS.callerArn}`]],
  ])('reports the exec KMS key %s', async (_, decision, expected) => {
    const { ctx, mocks } = makeContext({ execKmsKeyArn: IDS.kmsKeyArn });
    simulateWith(mocks.iam, (a) => (a === 'kms:GenerateDataKey' ? decision : a === 'ssm:StartSession' ? 'implicitDeny' : 'allowed'));
    expect(brief(await callerPermissions(ctx))[1]).toEqual(expected);
  });

  it('simulates once per selected container with its name as context', async () => {
    const { ctx, mocks } = makeContext({ containers: ['postgres', 'sidecar'] });
    simulateWith(mocks.iam, (_, __, input) => (input.ContextEntries?.some((e) => e.ContextKeyValues?.[0] === 'sidecar') ? 'implicitDeny' : 'allowed'));
    expect(brief(await callerPermissions(ctx)).map((r) => [r[0], r[1]])).toEqual([
      ['green', 'Caller can ExecuteCommand (postgres)'],
      ['red', 'Caller can ExecuteCommand (sidecar)'],
      ['yellow', 'Caller is denied ssm:StartSession'],
    ]);
  });

  it('is skipped when the caller is unknown', async () => {
    const { ctx } = makeContext({ caller: undefined });
    expect(await callerPermissions(ctx)).toEqual([]);
  });
});

describe('task-role', () => {
  const ssmOk = ['green', 'Task role: ssmmessages', 'allowed: ssmmessages:CreateControlChannel, ssmmessages:CreateDataChannel, ssmmessages:OpenControlChannel, ssmmessages:OpenDataChannel', undefined];

  it.each([
    ['the task definition role', {}, ['green', 'Task role', IDS.taskRoleArn, undefined]],
    ['an overridden role', { overrides: { taskRoleArn: 'arn:aws:iam::123456789012:role/other' } }, ['green', 'Task role', 'arn:aws:iam::123456789012:role/other (overridden)', undefined]],
  ])('uses %s', async (_, taskPatch, expected) => {
    const { ctx, mocks } = makeContext({ task: { ...goodTask(), ...taskPatch } });
    simulateWith(mocks.iam, allow);
    expect(brief(await taskRole(ctx))).toEqual([expected, ssmOk]);
  });

  it('reports the ssmmessages actions the role is denied', async () => {
    const { ctx, mocks } = makeContext();
    simulateWith(mocks.iam, (a) => (a.startsWith('ssmmessages:Open') ? 'implicitDeny' : 'allowed'));
    expect(brief(await taskRole(ctx))[1]).toEqual([
      'red',
      'Task role: ssmmessages',
      'denied: ssmmessages:OpenControlChannel on * (implicitDeny), ssmmessages:OpenDataChannel on * (implicitDeny)',
      `allow ssmmessages:OpenControlChannel, ssmmessages:OpenDataChannel on * for ${IDS.taskRoleArn}`,
    ]);
  });

  it('reports a Fargate task without a role', async () => {
    const { ctx } = makeContext({ taskDefinition: { ...goodTaskDefinition(), taskRoleArn: undefined } });
    expect(brief(await taskRole(ctx))).toEqual([
      ['red', 'Task role', 'not configured', 'set taskRoleArn in the task definition to a role that allows ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel and OpenDataChannel'],
    ]);
  });

  it.each([
    ['an instance profile with a role', 'arn:aws:iam::123456789012:instance-profile/ecs-node', 'arn:aws:iam::123456789012:role/ecs-node', ['green', 'EC2 instance role', 'arn:aws:iam::123456789012:role/ecs-node (from arn:aws:iam::123456789012:instance-profile/ecs-node)', undefined]],
    ['no instance profile', undefined, undefined, ['red', 'Task role', 'not configured (no task role, and instance i-0abc has no instance profile)', 'set taskRoleArn in the task definition to a role that allows ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel and OpenDataChannel']],
    ['a profile without a role', 'arn:aws:iam::123456789012:instance-profile/empty', undefined, ['red', 'Task role', 'not configured (no task role, and instance profile arn:aws:iam::123456789012:instance-profile/empty has no role)', 'set taskRoleArn in the task definition to a role that allows ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel and OpenDataChannel']],
  ])('falls back on EC2 to %s', async (_, profileArn, roleArn, expected) => {
    const { ctx, mocks } = makeContext({
      task: { ...goodTask(), launchType: 'EC2' },
      taskDefinition: { ...goodTaskDefinition(), taskRoleArn: undefined },
      containerInstance: { ec2InstanceId: 'i-0abc' },
    });
    mocks.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ IamInstanceProfile: profileArn ? { Arn: profileArn } : undefined }] }] });
    mocks.iam.on(GetInstanceProfileCommand, { InstanceProfileName: 'ecs-node' }).resolves({ InstanceProfile: { Roles: roleArn ? [{ Arn: roleArn, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() }] : [] } as never });
    mocks.iam.on(GetInstanceProfileCommand, { InstanceProfileName: 'empty' }).resolves({ InstanceProfile: { Roles: [] } as never });
    simulateWith(mocks.iam, allow);
    expect(brief(await taskRole(ctx))[0]).toEqual(expected);
  });

  it('checks kms:Decrypt, the log bucket and the log group when the cluster uses them', async () => {
    const { ctx, mocks } = makeContext({
      execKmsKeyArn: IDS.kmsKeyArn,
      cluster: {
        clusterArn: IDS.clusterArn,
        configuration: {
          executeCommandConfiguration: {
            kmsKeyId: IDS.kmsKeyArn,
            logging: 'OVERRIDE',
            logConfiguration: { s3BucketName: 'audit', s3KeyPrefix: 'exec/', s3EncryptionEnabled: true, cloudWatchLogGroupName: '/ecs/exec' },
          },
        },
      },
    });
    simulateWith(mocks.iam, (a) => (a === 's3:GetEncryptionConfiguration' || a === 'logs:PutLogEvents' ? 'implicitDeny' : 'allowed'));
    expect(brief(await taskRole(ctx)).slice(2)).toEqual([
      ['green', 'Task role: exec KMS key', 'allowed: kms:Decrypt', undefined],
      ['red', 'Task role: exec log bucket', 'denied: s3:GetEncryptionConfiguration on arn:aws:s3:::audit (implicitDeny)', `allow s3:GetEncryptionConfiguration on bucket audit for ${IDS.taskRoleArn}`],
      [
        'red',
        'Task role: exec log group',
        'denied: logs:PutLogEvents on arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/exec:* (implicitDeny)',
        `allow logs:PutLogEvents on log group /ecs/exec for ${IDS.taskRoleArn}`,
      ],
    ]);
    const resources = mocks.iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input.ResourceArns?.[0]);
    expect(resources).toContain('arn:aws:s3:::audit/exec/*');
  });
});

describe('task-role, exec KMS key', () => {
  it('says what is missing when the task role may not kms:Decrypt the exec key', async () => {
    const { ctx, mocks } = makeContext({ execKmsKeyArn: IDS.kmsKeyArn, cluster: { clusterArn: IDS.clusterArn, configuration: { executeCommandConfiguration: { kmsKeyId: IDS.kmsKeyArn } } } });
    simulateWith(mocks.iam, (a) => (a === 'kms:Decrypt' ? 'implicitDeny' : 'allowed'));
    expect(brief(await taskRole(ctx))[2]).toEqual([
      'red',
      'Task role: exec KMS key',
      `denied: kms:Decrypt on ${IDS.kmsKeyArn} (implicitDeny)`,
      `allow kms:Decrypt on ${IDS.kmsKeyArn} for ${IDS.taskRoleArn} (the agent decrypts each session's data key with it; with taskRoleName and execKmsKeys.<cluster> in the config the stack grants it)`,
    ]);
  });
});

describe('orchestrator-permission', () => {
  const find = ['green', 'Orchestrator can find the task', `ecs:ListTasks and ecs:DescribeTasks allowed for ${IDS.lambdaRoleArn}`, undefined];
  const fixTarget = "check that target orders-pg's cluster and container in the config match the task, then redeploy";
  it.each([
    ['everything allowed', allow, [find, ['green', 'Orchestrator can ExecuteCommand (postgres)', `allowed for ${IDS.lambdaRoleArn}`, undefined]]],
    ['ExecuteCommand denied', (a: string) => (a === 'ecs:ExecuteCommand' ? 'implicitDeny' : 'allowed'), [find, [
      'red',
      'Orchestrator can ExecuteCommand (postgres)',
      `implicitDeny on ${IDS.clusterArn}, implicitDeny on ${IDS.taskArn} for ${IDS.lambdaRoleArn}`,
      `the role allows ExecuteCommand only into the configured containers (ecs:container-name; this target: postgres) in the configured clusters: check that target's cluster and container in the config match the task, then redeploy; otherwise allow ecs:ExecuteCommand on ${IDS.clusterArn} and tasks of it for ${IDS.lambdaRoleArn}`,
    ]]],
    ['DescribeTasks denied', (a: string) => (a === 'ecs:DescribeTasks' ? 'implicitDeny' : 'allowed'), [[
      'red',
      'Orchestrator can find the task',
      `ecs:DescribeTasks is implicitDeny on ${IDS.taskArn} for ${IDS.lambdaRoleArn}`,
      `allow ecs:DescribeTasks in cluster ${IDS.clusterArn} for ${IDS.lambdaRoleArn}; ${fixTarget}`,
    ], ['green', 'Orchestrator can ExecuteCommand (postgres)', `allowed for ${IDS.lambdaRoleArn}`, undefined]]],
  ])('reports %s for the Lambda role', async (_, decide, expected) => {
    const { ctx, mocks } = makeContext({ backup: goodBackup() });
    simulateWith(mocks.iam, decide);
    expect(brief(await orchestratorPermission(ctx))).toEqual(expected);
    const calls = mocks.iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
    expect(calls.every((input) => input.PolicySourceArn === IDS.lambdaRoleArn)).toBe(true);
    expect(calls.find((input) => input.ActionNames?.[0] === 'ecs:ListTasks')?.ContextEntries).toEqual([
      { ContextKeyName: 'ecs:cluster', ContextKeyType: 'string', ContextKeyValues: [IDS.clusterArn] },
    ]);
  });

  it.each([
    ['carries no aws:ecs:serviceName tag', [], 'and this task carries no aws:ecs:serviceName tag: set enableECSManagedTags: true on service'],
    ['belongs to another service', [{ key: 'aws:ecs:serviceName', value: 'other-db' }], 'and this task belongs to service other-db'],
  ])('explains a denied ExecuteCommand on a task that %s, for a target with ecsManagedTags', async (_, tags, expected) => {
    const backup = goodBackup();
    const target = { ...backup.target, ecsManagedTags: true };
    const { ctx, mocks } = makeContext({ backup: { ...backup, target }, task: { ...goodTask(), tags } });
    simulateWith(mocks.iam, (a) => (a === 'ecs:ExecuteCommand' ? 'implicitDeny' : 'allowed'));
    const [, exec] = brief(await orchestratorPermission(ctx));
    expect(exec?.[0]).toBe('red');
    expect(exec?.[3]).toContain(`the role allows ExecuteCommand only on tasks`);
    expect(exec?.[3]).toContain(expected);
    const simulated = mocks.iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input).find((i) => i.ActionNames?.[0] === 'ecs:ExecuteCommand');
    const tagEntry = simulated?.ContextEntries?.find((e) => e.ContextKeyName === 'aws:ResourceTag/aws:ecs:serviceName');
    expect(tagEntry?.ContextKeyValues).toEqual(tags.length === 0 ? undefined : ['other-db']);
  });

  it('reports a missing function', async () => {
    const { ctx } = makeContext({ backup: goodBackup({ error: 'Function not found: ecs-db-backup-orchestrator' }) });
    expect(brief(await orchestratorPermission(ctx))).toEqual([
      ['red', 'Orchestrator function', 'ecs-db-backup-orchestrator: Function not found: ecs-db-backup-orchestrator', 'deploy the stack (cdktf deploy), or pass the function name with --function'],
    ]);
  });

  it('is skipped without a backup target', async () => {
    const { ctx } = makeContext();
    expect(await orchestratorPermission(ctx)).toEqual([]);
  });
});
