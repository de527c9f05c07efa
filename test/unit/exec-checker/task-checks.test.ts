import type { ManagedAgent, Task } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { clusterConfiguration } from '../../../functions/shared/exec-checker/cluster-configuration.js';
import { environmentCredentials } from '../../../functions/shared/exec-checker/environment-credentials.js';
import { execEnabled } from '../../../functions/shared/exec-checker/exec-enabled.js';
import { initProcess } from '../../../functions/shared/exec-checker/init-process.js';
import { managedAgent } from '../../../functions/shared/exec-checker/managed-agent.js';
import { compareVersions, platformVersion } from '../../../functions/shared/exec-checker/platform-version.js';
import { pidMode } from '../../../functions/shared/exec-checker/pid-mode.js';
import { readonlyRoot } from '../../../functions/shared/exec-checker/readonly-root.js';
import { taskStatus } from '../../../functions/shared/exec-checker/task-status.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';
import { goodTask, goodTaskDefinition, IDS, makeContext } from './fixtures.js';

const brief = (results: CheckResult[]) => results.map((r) => [r.verdict, r.title, r.message, r.fix]);

describe('task-status', () => {
  it.each([
    ['RUNNING', undefined, ['green', 'Task status', 'RUNNING', undefined]],
    ['PENDING', undefined, ['yellow', 'Task status', 'PENDING (the task is still starting)', 'wait until the task is RUNNING, then run the checker again']],
    ['PROVISIONING', undefined, ['yellow', 'Task status', 'PROVISIONING (the task is still starting)', 'wait until the task is RUNNING, then run the checker again']],
    ['ACTIVATING', undefined, ['yellow', 'Task status', 'ACTIVATING (the task is still starting)', 'wait until the task is RUNNING, then run the checker again']],
    ['STOPPED', 'Essential container exited', ['red', 'Task status', 'STOPPED (Essential container exited)', 'ECS Exec needs a RUNNING task: check the stopped reason and pick a RUNNING task']],
    ['DEACTIVATING', undefined, ['red', 'Task status', 'DEACTIVATING (the task is stopping or unknown)', 'ECS Exec needs a RUNNING task: pick a RUNNING task']],
    ['STOPPING', undefined, ['red', 'Task status', 'STOPPING (the task is stopping or unknown)', 'ECS Exec needs a RUNNING task: pick a RUNNING task']],
  ])('reports %s', async (lastStatus, stoppedReason, expected) => {
    const { ctx } = makeContext({ task: { ...goodTask(), lastStatus, stoppedReason } });
    expect(brief(await taskStatus(ctx))).toEqual([expected]);
  });
});

describe('platform-version', () => {
  it.each([
    [{ platformVersion: '1.4.0' }, ['green', 'Fargate platform version', '1.4.0', undefined]],
    [{ platformVersion: '1.10.0' }, ['green', 'Fargate platform version', '1.10.0', undefined]],
    [{ platformVersion: '1.3.0' }, ['red', 'Fargate platform version', '1.3.0 (required: >= 1.4.0)', 'run the service on platform version 1.4.0 or LATEST']],
    [{ platformVersion: '1.0.0', platformFamily: 'Windows Server 2019 Full' }, ['green', 'Fargate platform version', '1.0.0', undefined]],
    [{ platformVersion: undefined }, ['yellow', 'Fargate platform version', 'not reported by ECS', undefined]],
    [{ launchType: 'EXTERNAL', platformVersion: undefined }, ['yellow', 'Platform version', 'UNKNOWN (launch type EXTERNAL)', undefined]],
  ] as const)('reports Fargate task %o', async (patch, expected) => {
    const { ctx } = makeContext({ task: { ...goodTask(), ...patch } });
    expect(brief(await platformVersion(ctx))).toEqual([expected]);
  });

  it.each([
    ['1.50.2', ['green', 'ECS agent version', '1.50.2', undefined]],
    ['1.9.0', ['red', 'ECS agent version', '1.9.0 (required: >= 1.50.2)', 'update the ECS agent on the container instance (or use a current ECS-optimized AMI)']],
    [undefined, ['yellow', 'ECS agent version', 'UNKNOWN (the container instance reports no agent version)', undefined]],
  ] as const)('reports EC2 agent %s', async (agentVersion, expected) => {
    const { ctx } = makeContext({
      task: { ...goodTask(), launchType: 'EC2', platformVersion: undefined },
      containerInstance: { versionInfo: agentVersion === undefined ? {} : { agentVersion } },
    });
    expect(brief(await platformVersion(ctx))).toEqual([expected]);
  });

  it.each([
    ['1.4.0', '1.4.0', 0],
    ['1.10.0', '1.9.9', 1],
    ['1.3', '1.4.0', -1],
    ['v1.50.2', '1.50.2', 0],
  ])('compares %s with %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });
});

describe('exec-enabled', () => {
  it.each([
    [true, ['green', 'Exec enabled for task', 'YES', undefined]],
    [false, ['red', 'Exec enabled for task', 'NO', 'set enableExecuteCommand = true on the service (aws ecs update-service --enable-execute-command --force-new-deployment); running tasks keep the old setting']],
    [undefined, ['red', 'Exec enabled for task', 'NO', 'set enableExecuteCommand = true on the service (aws ecs update-service --enable-execute-command --force-new-deployment); running tasks keep the old setting']],
  ])('reports enableExecuteCommand %s', async (enableExecuteCommand, expected) => {
    const { ctx } = makeContext({ task: { ...goodTask(), enableExecuteCommand } });
    expect(brief(await execEnabled(ctx))).toEqual([expected]);
  });
});

describe('managed-agent', () => {
  const stoppedFix = "fix the task role's ssmmessages permissions, the network path to ssmmessages and a writable root filesystem, then start a new task";
  it.each([
    ['a running agent', [{ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }], ['green', 'Managed agent (postgres)', 'RUNNING', undefined]],
    ['a pending agent', [{ name: 'ExecuteCommandAgent', lastStatus: 'PENDING' }], ['yellow', 'Managed agent (postgres)', 'PENDING (the agent is starting)', 'wait a minute and run the checker again']],
    [
      'a stopped agent',
      [{ name: 'ExecuteCommandAgent', lastStatus: 'STOPPED', reason: 'permission denied', lastStartedAt: new Date('2026-11-21T10:00:00Z') }],
      ['red', 'Managed agent (postgres)', 'STOPPED (reason: permission denied, last started at 2026-11-21T10:00:00.000Z)', stoppedFix],
    ],
    ['a stopped agent without reason', [{ name: 'ExecuteCommandAgent', lastStatus: 'STOPPED' }], ['red', 'Managed agent (postgres)', 'STOPPED (reason: none given)', stoppedFix]],
    [
      'another agent only (found by name, not index 0)',
      [{ name: 'ServiceConnectAgent', lastStatus: 'RUNNING' }],
      ['red', 'Managed agent (postgres)', 'no ExecuteCommandAgent', 'start a new task after enabling exec on the service; tasks started before keep running without the agent'],
    ],
    ['the exec agent second', [{ name: 'Other', lastStatus: 'STOPPED' }, { name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }], ['green', 'Managed agent (postgres)', 'RUNNING', undefined]],
    ['no agent at all', undefined, ['red', 'Managed agent (postgres)', 'no ExecuteCommandAgent', 'start a new task after enabling exec on the service; tasks started before keep running without the agent']],
  ])('reports %s', async (_, managedAgents, expected) => {
    const { ctx } = makeContext({ task: { ...goodTask(), containers: [{ name: 'postgres', managedAgents: managedAgents as ManagedAgent[] | undefined }] } });
    expect(brief(await managedAgent(ctx))).toEqual([expected]);
  });

  it('is skipped when exec is disabled', async () => {
    const { ctx } = makeContext({ task: { ...goodTask(), enableExecuteCommand: false } });
    expect(await managedAgent(ctx)).toEqual([]);
  });

  it('looks only at the selected containers', async () => {
    const task: Task = { ...goodTask(), containers: [{ name: 'postgres', managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }] }, { name: 'sidecar' }] };
    const { ctx } = makeContext({ task, containers: ['sidecar'] });
    expect(brief(await managedAgent(ctx)).map((r) => r[1])).toEqual(['Managed agent (sidecar)']);
  });
});

describe('init-process', () => {
  it.each([
    [{ initProcessEnabled: true }, ['green', 'Init process (postgres)', 'enabled', undefined]],
    [{ initProcessEnabled: false }, ['yellow', 'Init process (postgres)', 'disabled', "set linuxParameters.initProcessEnabled = true so processes left by exec sessions are reaped"]],
    [undefined, ['yellow', 'Init process (postgres)', 'disabled', "set linuxParameters.initProcessEnabled = true so processes left by exec sessions are reaped"]],
  ])('reports linuxParameters %o', async (linuxParameters, expected) => {
    const def = goodTaskDefinition();
    const { ctx } = makeContext({ taskDefinition: { ...def, containerDefinitions: [{ name: 'postgres', linuxParameters }] } });
    expect(brief(await initProcess(ctx))).toEqual([expected]);
  });
});

describe('readonly-root', () => {
  it.each([
    [true, ['red', 'Root filesystem (postgres)', 'read-only', 'set readonlyRootFilesystem = false in the container definition: the exec agent writes to /var/lib/amazon/ssm and /var/log/amazon/ssm']],
    [false, ['green', 'Root filesystem (postgres)', 'writable', undefined]],
    [undefined, ['green', 'Root filesystem (postgres)', 'writable', undefined]],
  ])('reports readonlyRootFilesystem %s', async (readonlyRootFilesystem, expected) => {
    const { ctx } = makeContext({ taskDefinition: { containerDefinitions: [{ name: 'postgres', readonlyRootFilesystem }] } });
    expect(brief(await readonlyRoot(ctx))).toEqual([expected]);
  });
});

describe('pid-mode', () => {
  it.each([
    ['task', ['yellow', 'PID mode', 'task (ECS Exec works in only one container of the task)', 'remove pidMode or set it to host if you exec into several containers']],
    ['host', ['green', 'PID mode', 'host', undefined]],
    [undefined, ['green', 'PID mode', 'not configured', undefined]],
  ] as const)('reports pidMode %s', async (mode, expected) => {
    const { ctx } = makeContext({ taskDefinition: { ...goodTaskDefinition(), pidMode: mode } });
    expect(brief(await pidMode(ctx))).toEqual([expected]);
  });
});

describe('environment-credentials', () => {
  const fix = 'remove the AWS credential variables and give the task role the permissions instead';
  it.each([
    ['no credentials', [], [], ['green', 'AWS credentials in environment (postgres)', 'none', undefined]],
    [
      'keys in the task definition',
      [{ name: 'AWS_ACCESS_KEY_ID', value: 'x' }, { name: 'AWS_SECRET_ACCESS_KEY', value: 'y' }],
      [],
      ['yellow', 'AWS credentials in environment (postgres)', 'AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in the task definition (the exec agent uses these instead of the task role)', fix],
    ],
    [
      'a key in the container overrides',
      [],
      [{ name: 'AWS_ACCESS_KEY', value: 'x' }],
      ['yellow', 'AWS credentials in environment (postgres)', "AWS_ACCESS_KEY in the task's container overrides (the exec agent uses these instead of the task role)", fix],
    ],
    [
      'keys in both',
      [{ name: 'AWS_ACCESS_KEY_ID', value: 'x' }],
      [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'y' }],
      ['yellow', 'AWS credentials in environment (postgres)', "AWS_ACCESS_KEY_ID in the task definition; AWS_SECRET_ACCESS_KEY in the task's container overrides (the exec agent uses these instead of the task role)", fix],
    ],
  ])('reports %s', async (_, environment, overrideEnvironment, expected) => {
    const { ctx } = makeContext({
      task: { ...goodTask(), overrides: { containerOverrides: [{ name: 'postgres', environment: overrideEnvironment }, { name: 'other', environment: [{ name: 'AWS_ACCESS_KEY_ID', value: 'z' }] }] } },
      taskDefinition: { containerDefinitions: [{ name: 'postgres', environment }] },
    });
    expect(brief(await environmentCredentials(ctx))).toEqual([expected]);
  });
});

describe('cluster-configuration', () => {
  const noKms = ['green', 'Exec KMS key', 'not configured (sessions are protected by TLS only)', undefined];
  it.each([
    ['no exec configuration', undefined, undefined, [noKms, ['yellow', 'Exec audit logging', 'not configured', 'set executeCommandConfiguration.logging on the cluster (DEFAULT or OVERRIDE) to record sessions']]],
    ['logging NONE', { logging: 'NONE' }, undefined, [noKms, ['yellow', 'Exec audit logging', 'disabled (NONE)', 'set executeCommandConfiguration.logging to DEFAULT or OVERRIDE to record sessions']]],
    ['logging DEFAULT', { logging: 'DEFAULT' }, undefined, [noKms, ['green', 'Exec audit logging', "DEFAULT (the container's awslogs configuration)", undefined]]],
    [
      'logging OVERRIDE to both sinks with a key',
      {
        logging: 'OVERRIDE',
        kmsKeyId: IDS.kmsKeyArn,
        logConfiguration: { cloudWatchLogGroupName: '/ecs/exec', cloudWatchEncryptionEnabled: true, s3BucketName: 'audit', s3KeyPrefix: 'exec/' },
      },
      IDS.kmsKeyArn,
      [['green', 'Exec KMS key', IDS.kmsKeyArn, undefined], ['green', 'Exec audit logging', 'OVERRIDE → CloudWatch Logs /ecs/exec (encrypted), S3 s3://audit/exec/', undefined]],
    ],
    [
      'a key alias resolved to an ARN',
      { logging: 'DEFAULT', kmsKeyId: 'alias/exec' },
      IDS.kmsKeyArn,
      [['green', 'Exec KMS key', IDS.kmsKeyArn, undefined], ['green', 'Exec audit logging', "DEFAULT (the container's awslogs configuration)", undefined]],
    ],
    [
      'a key id that could not be resolved',
      { logging: 'DEFAULT', kmsKeyId: '1111-2222' },
      '1111-2222',
      [
        ['yellow', 'Exec KMS key', '1111-2222 (could not be resolved to an ARN with kms:DescribeKey)', 'allow kms:DescribeKey for the caller, or check that the key exists'],
        ['green', 'Exec audit logging', "DEFAULT (the container's awslogs configuration)", undefined],
      ],
    ],
    ['OVERRIDE without sinks', { logging: 'OVERRIDE' }, undefined, [noKms, ['yellow', 'Exec audit logging', 'OVERRIDE without a log group or bucket', 'set logConfiguration.cloudWatchLogGroupName or s3BucketName']]],
  ] as const)('reports %s', async (_, executeCommandConfiguration, execKmsKeyArn, expected) => {
    const { ctx } = makeContext({ cluster: { clusterArn: IDS.clusterArn, configuration: executeCommandConfiguration && { executeCommandConfiguration } }, execKmsKeyArn });
    expect(brief(await clusterConfiguration(ctx))).toEqual(expected);
  });
});
