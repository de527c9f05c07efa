import { spawnSync } from 'node:child_process';
import { DescribeClustersCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../functions/shared/config/load.js';
import { runChecks } from '../../../functions/shared/exec-checker/checks.js';
import { UnknownTargetError } from '../../../functions/shared/exec-checker/errors.js';
import { loadTarget, runExecCheck } from '../../../functions/shared/exec-checker/run.js';
import type { Check } from '../../../functions/shared/exec-checker/types.js';
import { goodCluster, goodFunction, goodTask, goodTaskDefinition, IDS, makeContext, mockedClients, simulateWith } from './fixtures.js';

describe('runChecks', () => {
  it('turns a check that throws into a red line and runs the others', async () => {
    const { ctx } = makeContext();
    const boom: Check = async () => {
      throw new Error('AccessDenied: ec2:DescribeSubnets');
    };
    const fine: Check = async () => [{ check: 'fine', title: 'Fine', verdict: 'green', message: 'yes' }];
    expect(await runChecks(ctx, [['vpc-endpoints', boom], ['fine', fine]])).toEqual([
      {
        check: 'vpc-endpoints',
        title: 'vpc-endpoints',
        verdict: 'red',
        message: 'the check could not run: AccessDenied: ec2:DescribeSubnets',
        fix: 'grant the caller the read permissions listed in the README (exec-checker section) and run it again',
      },
      { check: 'fine', title: 'Fine', verdict: 'green', message: 'yes' },
    ]);
  });
});

describe('loadTarget', () => {
  it('finds a target of the config', () => {
    expect(loadTarget('sessions-redis', 'examples/backup.config.json').target.service).toBe('sessions-redis');
  });

  it('names the targets it knows when the name is wrong', () => {
    expect(() => loadTarget('orders', 'examples/backup.config.json')).toThrow(
      new UnknownTargetError('target orders is not in examples/backup.config.json: pass one of orders-pg, sessions-redis'),
    );
  });
});

describe('runExecCheck', () => {
  function world() {
    const { clients, mocks } = mockedClients();
    mocks.sts.on(GetCallerIdentityCommand).resolves({ Arn: IDS.callerArn, Account: IDS.account });
    mocks.ecs.on(ListTasksCommand, { cluster: 'prod', serviceName: 'orders-db' }).resolves({ taskArns: [IDS.taskArn] });
    mocks.ecs.on(DescribeTasksCommand).resolves({ tasks: [{ ...goodTask(), startedAt: new Date() }] });
    mocks.ecs.on(DescribeClustersCommand).resolves({ clusters: [goodCluster()] });
    mocks.ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: goodTaskDefinition() });
    mocks.lambda.on(GetFunctionConfigurationCommand).resolves(goodFunction());
    simulateWith(mocks.iam, (a) => (a === 'ssm:StartSession' ? 'implicitDeny' : 'allowed'));
    return { clients, mocks };
  }

  it('checks a task without the backup path and says so', async () => {
    const { clients } = world();
    const run = await runExecCheck(clients, { kind: 'task', cluster: 'prod', task: IDS.taskArn });
    expect(run.notes).toEqual(['backup-path checks skipped: pass --target NAME to check the orchestrator, EFS and the backup mount']);
    expect(run.results.map((r) => r.check)).not.toContain('backup-mount');
    expect(run.results.find((r) => r.check === 'exec-enabled')?.verdict).toBe('green');
  });

  it('resolves the newest task of the target and runs the backup-path checks', async () => {
    const { clients, mocks } = world();
    const config = loadConfigFile('examples/backup.config.json');
    const target = config.targets[0];
    if (target === undefined) throw new Error('example config has no target');
    const run = await runExecCheck(clients, { kind: 'target', target: 'orders-pg' }, { loaded: { config, target } });
    expect(mocks.lambda.commandCalls(GetFunctionConfigurationCommand)[0]?.args[0].input.FunctionName).toBe('ecs-db-backup-orchestrator');
    expect(run.results.filter((r) => r.check === 'orchestrator-permission')).toEqual([
      { check: 'orchestrator-permission', title: 'Orchestrator can find the task', verdict: 'green', message: `ecs:ListTasks and ecs:DescribeTasks allowed for ${IDS.lambdaRoleArn}` },
      { check: 'orchestrator-permission', title: 'Orchestrator can ExecuteCommand (postgres)', verdict: 'green', message: `allowed for ${IDS.lambdaRoleArn}` },
    ]);
    expect(run.results.map((r) => r.check)).toEqual(expect.arrayContaining(['backup-mount', 'exec-kms', 'orchestrator-network', 'efs-mount-targets']));
  });

  it('returns only the pre-flight lines when the task is missing', async () => {
    const { clients, mocks } = world();
    mocks.ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ reason: 'MISSING' }] });
    const run = await runExecCheck(clients, { kind: 'task', cluster: 'prod', task: 'gone' });
    expect(run.results.map((r) => [r.check, r.verdict])).toEqual([['caller-identity', 'green'], ['task-exists', 'red']]);
  });
});

describe('exec-check CLI', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/exec-check.ts', ...args], { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'eu-west-1' } });

  it.each([
    [[], 'error: pass --cluster C --task T, or --target NAME'],
    [['--cluster', 'prod'], 'error: --cluster needs --task T (or pass --target NAME instead)'],
    [['--task', 't'], 'error: --task needs --cluster C (or pass --target NAME instead)'],
    [['--container', 'db'], 'error: pass --cluster C --task T, or --target NAME'],
    [['--target', 'orders-pg', '--cluster', 'prod'], 'error: --target takes cluster and container from the config: drop --cluster/--container'],
    [['--cluster', 'prod', '--task', 't', '--probe'], 'error: --probe needs --target NAME'],
    [['--target', 'nope', '--config', 'examples/backup.config.json'], 'error: target nope is not in examples/backup.config.json: pass one of orders-pg, sessions-redis'],
    [['--target', 'x', '--config', '/nonexistent.json'], 'error: cannot read config file /nonexistent.json'],
    [['--bogus'], "error: unknown option '--bogus'"],
  ])('exits 2 for %j', (args, message) => {
    const out = cli(...args);
    expect(out.stderr).toContain(message);
    expect(out.status).toBe(2);
  });
});
