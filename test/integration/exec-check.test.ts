import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeRouteTablesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeAccessPointsCommand, DescribeMountTargetSecurityGroupsCommand, DescribeMountTargetsCommand } from '@aws-sdk/client-efs';
import { GetFunctionConfigurationCommand, InvokeCommand, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/shared/config/load.js';
import { EcsExec } from '../../functions/shared/exec/exec-client.js';
import type { ProbeRequest } from '../../functions/shared/exec-checker/probe.js';
import { runExecCheck } from '../../functions/shared/exec-checker/run.js';
import { targetPosixUser } from '../../functions/shared/core/target-posix-user.js';
import type { CheckResult, Clients } from '../../functions/shared/exec-checker/types.js';
import { startStandin, type Standin, type StandinContainer, type StandinTask } from '../../scripts/standin/index.js';
import { execClientsFor } from '../helpers/standin.js';
import { goodFunction, IDS, mockedClients, simulateWith } from '../unit/exec-checker/fixtures.js';

// ECS (DescribeTasks/Clusters/TaskDefinition, ListTasks, ExecuteCommand and the data channel) is the stand-in;
// IAM, STS, EC2, EFS and Lambda have no emulator, so only those clients are mocked.

const TASKS = {
  good: '0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a',
  noExec: '0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b',
  agentStopped: '0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c',
  readOnly: '0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d',
} as const;

let standin: Standin;
let hostDir: string;

function container(patch: Partial<StandinContainer> = {}): StandinContainer {
  return {
    name: 'postgres',
    initProcessEnabled: true,
    mounts: { '/backup': hostDir },
    efsVolume: { fileSystemId: IDS.fileSystemId, accessPointId: IDS.accessPointId, containerPath: '/backup' },
    ...patch,
  };
}

function task(id: string, service: string, patch: Partial<StandinTask> = {}, containerPatch: Partial<StandinContainer> = {}): StandinTask {
  return { id, service, taskRoleArn: IDS.taskRoleArn, subnetId: IDS.subnetA, containers: [container(containerPatch)], ...patch };
}

beforeAll(async () => {
  hostDir = mkdtempSync(join(tmpdir(), 'exec-check-'));
  standin = await startStandin({
    region: 'eu-west-1',
    accountId: IDS.account,
    clusters: [
      {
        name: 'prod',
        logging: 'DEFAULT',
        tasks: [
          task(TASKS.good, 'orders-db'),
          task(TASKS.noExec, 'noexec-db', { enableExecuteCommand: false }),
          task(TASKS.agentStopped, 'agent-db', {}, { agentStatus: 'STOPPED' }),
          task(TASKS.readOnly, 'ro-db', {}, { readonlyRootFilesystem: true }),
        ],
      },
    ],
  });
});

afterAll(async () => {
  await standin?.stop();
  rmSync(hostDir, { recursive: true, force: true });
});

/** Real ECS client on the stand-in; everything else mocked as a correctly set-up account. */
function clients(): { clients: Clients; invokes: ProbeRequest[] } {
  const { clients: mocked, mocks } = mockedClients();
  const ecs = new ECSClient({ endpoint: standin.endpoint, region: standin.region, credentials: standin.credentials, maxAttempts: 1 });
  mocks.sts.on(GetCallerIdentityCommand).resolves({ Arn: IDS.callerArn, Account: IDS.account });
  simulateWith(mocks.iam, (action) => (action === 'ssm:StartSession' ? 'implicitDeny' : 'allowed'));
  mocks.lambda.on(GetFunctionConfigurationCommand).resolves(goodFunction());
  mocks.ec2.on(DescribeVpcEndpointsCommand).resolves({
    VpcEndpoints: ['ecs', 'ssmmessages'].map((s) => ({ ServiceName: `com.amazonaws.eu-west-1.${s}`, VpcEndpointId: `vpce-${s}`, VpcEndpointType: 'Interface', State: 'available' as never, PrivateDnsEnabled: true })),
  });
  mocks.ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [{ Associations: [{ Main: true }], Routes: [] }] });
  mocks.ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: [
      { SubnetId: IDS.subnetA, AvailabilityZone: 'eu-west-1a', CidrBlock: '10.0.1.0/24', VpcId: IDS.vpcId, OwnerId: IDS.account },
      { SubnetId: IDS.subnetB, AvailabilityZone: 'eu-west-1b', CidrBlock: '10.0.2.0/24', VpcId: IDS.vpcId, OwnerId: IDS.account },
    ],
  });
  mocks.efs.on(DescribeMountTargetsCommand).resolves({
    MountTargets: ['a', 'b'].map((z) => ({ MountTargetId: `fsmt-${z}`, FileSystemId: IDS.fileSystemId, SubnetId: 's', AvailabilityZoneName: `eu-west-1${z}`, LifeCycleState: 'available' as const })),
  });
  mocks.efs.on(DescribeMountTargetSecurityGroupsCommand).resolves({ SecurityGroups: [IDS.mountSg] });
  mocks.ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: IDS.mountSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ GroupId: IDS.lambdaSg }] }] }] });
  const own = targetPosixUser({ efs: { posixUid: 1000, posixGid: 1000 }, target: { name: 'orders-pg' } });
  mocks.efs.on(DescribeAccessPointsCommand).resolves({
    AccessPoints: [{ AccessPointId: IDS.accessPointId, RootDirectory: { Path: '/ecs-db-backup/orders-pg' }, PosixUser: { Uid: own.uid, Gid: own.gid } }],
  });
  // The host directory the stand-in bind-mounts at the container's /backup plays orders-pg's own directory, <EFS>/orders-pg,
  // which the orchestrator reads the probe from.
  const invokes: ProbeRequest[] = [];
  mocks.lambda.on(InvokeCommand).callsFake((input: InvokeCommandInput) => {
    const request = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) as ProbeRequest;
    invokes.push(request);
    const path = join(hostDir, request.file);
    const content = existsSync(path) ? readFileSync(path, 'utf8') : null;
    // The orchestrator's answer (functions/orchestrator/handler.ts, action "probe").
    const answer = { action: 'probe', ok: content !== null && content.trim() === request.expect, found: content !== null, content };
    return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(answer)) };
  });
  return { clients: { ...mocked, ecs }, invokes };
}

const config = () =>
  parseConfig({
    region: 'eu-west-1',
    bucket: { name: 'acme-db-backups' },
    vpcId: IDS.vpcId,
    subnetIds: [IDS.subnetA, IDS.subnetB],
    efs: { fileSystemId: IDS.fileSystemId, mountTargetSecurityGroupId: IDS.mountSg },
    targets: [{ name: 'orders-pg', engine: 'postgres', cluster: 'prod', service: 'orders-db', container: 'postgres', database: 'orders', backupDir: '/backup' }],
  });

function notGreen(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((r) => r.verdict !== 'green');
}

describe('exec-check against the ECS stand-in', () => {
  it('reports a correctly set-up target as green, finding its task through ListTasks, and proves the path with a probe', async () => {
    const { clients: c, invokes } = clients();
    const cfg = config();
    const target = cfg.targets[0]!;
    const run = await runExecCheck(c, { kind: 'target', target: 'orders-pg' }, { loaded: { config: cfg, target }, probe: new EcsExec(execClientsFor(standin, c.ecs)) });
    expect(notGreen(run.results)).toEqual([]);
    expect(run.results.find((r) => r.check === 'task-exists')?.message).toContain(`task/prod/${TASKS.good}`);
    expect(run.results.filter((r) => r.check === 'probe').map((r) => [r.title, r.verdict])).toEqual([
      ['Probe: write in container', 'green'],
      ['Probe: orchestrator reads it', 'green'],
      ['Probe: cleanup', 'green'],
    ]);
    expect(invokes).toHaveLength(1);
    expect(existsSync(join(hostDir, invokes[0]!.file))).toBe(false);
    expect(run.results.map((r) => r.check)).toEqual(
      expect.arrayContaining(['cluster-configuration', 'caller-permissions', 'task-status', 'exec-enabled', 'managed-agent', 'init-process', 'readonly-root', 'task-role', 'environment-credentials', 'pid-mode', 'orchestrator-permission', 'orchestrator-network', 'efs-mount-targets', 'backup-mount', 'exec-kms']),
    );
  });

  it.each([
    ['exec disabled', TASKS.noExec, [['exec-enabled', 'Exec enabled for task', 'NO']]],
    ['the agent stopped', TASKS.agentStopped, [['managed-agent', 'Managed agent (postgres)', expect.stringMatching(/^STOPPED \(reason: none given, last started at 2026-/)]]],
    ['a read-only root filesystem', TASKS.readOnly, [['readonly-root', 'Root filesystem (postgres)', 'read-only']]],
  ])('reports a task with %s as red, and only that', async (_, taskId, expected) => {
    const { clients: c } = clients();
    const run = await runExecCheck(c, { kind: 'task', cluster: 'prod', task: taskId });
    expect(notGreen(run.results).map((r) => [r.check, r.title, r.message])).toEqual(expected);
    expect(notGreen(run.results).every((r) => r.verdict === 'red' && r.fix !== undefined)).toBe(true);
  });

  it('stops at a task the stand-in does not know', async () => {
    const { clients: c } = clients();
    const run = await runExecCheck(c, { kind: 'task', cluster: 'prod', task: 'ffffffffffffffffffffffffffffffff' });
    expect(run.results.map((r) => [r.check, r.verdict, r.message])).toEqual([
      ['caller-identity', 'green', IDS.callerArn],
      ['task-exists', 'red', 'task ffffffffffffffffffffffffffffffff does not exist in cluster prod (MISSING)'],
    ]);
  });
});

describe('exec-check CLI against the ECS stand-in', () => {
  /** A loopback port nothing listens on: STS, IAM and EC2 calls fail at once instead of leaving the machine. */
  async function closedPort(): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 9}`;
  }

  async function cli(...args: string[]) {
    const nowhere = await closedPort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'eu-west-1',
      AWS_MAX_ATTEMPTS: '1',
      ECS_ENDPOINT: standin.endpoint,
      AWS_ENDPOINT_URL_STS: nowhere,
      AWS_ENDPOINT_URL_IAM: nowhere,
      AWS_ENDPOINT_URL_EC2: nowhere,
    };
    delete env['NO_COLOR'];
    delete env['AWS_PROFILE'];
    // Asynchronous on purpose: the stand-in serves from this process, so a blocking spawn would starve it.
    const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', 'scripts/exec-check.ts', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { stdout, stderr, status };
  }

  it('sends ECS calls to $ECS_ENDPOINT, prints plain tags when stdout is not a terminal, and exits 1 on a red line', async () => {
    const out = await cli('--cluster', 'prod', '--task', TASKS.readOnly);
    expect(out.stdout).not.toContain('\u001b');
    expect(out.stdout).toContain(`[OK]   Task exists: arn:aws:ecs:eu-west-1:${IDS.account}:task/prod/${TASKS.readOnly}`);
    expect(out.stdout).toContain('[FAIL] Root filesystem (postgres): read-only → set readonlyRootFilesystem = false');
    expect(out.stdout).toMatch(/^\[FAIL\] Caller identity: sts:GetCallerIdentity failed: /m);
    expect(out.stdout.trimEnd().split('\n').pop()).toMatch(/^\d+ checks: \d+ ok, \d+ warnings, \d+ failures — ECS Exec will fail: fix the \[FAIL\] lines$/);
    expect(out.status).toBe(1);
  });

  it('prints a JSON report with --json', async () => {
    const out = await cli('--cluster', 'prod', '--task', TASKS.noExec, '--json');
    const report = JSON.parse(out.stdout) as { verdict: string; results: CheckResult[] };
    expect(report.verdict).toBe('red');
    expect(report.results.find((r) => r.check === 'exec-enabled')).toMatchObject({ verdict: 'red', message: 'NO' });
    expect(out.status).toBe(1);
  });
});
