import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/shared/config/load.js';
import type { Target } from '../../functions/shared/config/schema.js';
import { RUNNER_CONTAINER, runnerFamily } from '../../functions/shared/core/runner-task.js';
import { targetPrefix } from '../../functions/shared/core/s3-keys.js';
import { rolePolicies, TEST_ACCESS_POINT_ID, TEST_ACCOUNT, type NamedPolicy } from '../helpers/iam-policy.js';
import { BASE_CONFIG, synthStack, TWO_CLUSTER_TARGETS } from '../helpers/synth.js';
import { AWS_CALLS, RUNTIME_REQUESTS, type CallScope, type IamRequest } from './aws-calls.js';

// Least privilege, proven: every request the orchestrator makes (aws-calls.ts) is simulated with
// @cloud-copilot/iam-simulate against the role policies the stack synthesizes; a list of requests it
// must never be able to make is simulated too. Nothing local enforces the role (moto and the ECS
// stand-in accept any caller), so only this test catches a call without its permission.

const REGION = 'eu-west-1';
const ARN = `${REGION}:${TEST_ACCOUNT}`;
const ROLE = 'ecs-db-backup-orchestrator';
const PRINCIPAL = `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/${ROLE}/${ROLE}`;
const BUCKET_KEY = `arn:aws:kms:${ARN}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const EXEC_KEY = `arn:aws:kms:${ARN}:key/0f0e0d0c-0b0a-0908-0706-050403020100`;
const REPLICA_REGION = 'eu-central-1';
const REPLICA_KEY = `arn:aws:kms:${REPLICA_REGION}:${TEST_ACCOUNT}:key/abcdabcd-1234-5678-9abc-abcdabcdabcd`;
const REPLICA = 'team-backups-replica';
const OTHER_KEY = `arn:aws:kms:${ARN}:key/99999999-8888-7777-6666-555555555555`;
const FILE_SYSTEM = `arn:aws:elasticfilesystem:${ARN}:file-system/${BASE_CONFIG.efs.fileSystemId}`;
const ACCESS_POINT = `arn:aws:elasticfilesystem:${ARN}:access-point/${TEST_ACCESS_POINT_ID}`;
const RDS_SECRET = `arn:aws:secretsmanager:${ARN}:secret:db/d-rds-AbCdEf`;
const OTHER_SECRET = `arn:aws:secretsmanager:${ARN}:secret:db/payments-AbCdEf`;
const runnerRole = (target: string, kind: 'exec' | 'task') => `arn:aws:iam::${TEST_ACCOUNT}:role/ecs-db-backup-runner-${target}-${kind}`;
const LOG_STREAM = `arn:aws:logs:${ARN}:log-group:/aws/lambda/${ROLE}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;

/** Every feature that adds a permission: SSE-KMS, a KMS-encrypted exec cluster, a restartable service, a key prefix, a replica with its key. */
const FULL = {
  ...BASE_CONFIG,
  replication: { region: REPLICA_REGION, bucketName: REPLICA, kmsKeyArn: REPLICA_KEY },
  kmsKeyArn: BUCKET_KEY,
  execKmsKeys: { green: EXEC_KEY },
  keyPrefix: 'db/prod/',
  targets: [
    ...TWO_CLUSTER_TARGETS.map((t) => (t.cluster === 'green' ? { ...t, ecsManagedTags: true } : t)),
    { name: 'd-rds', engine: 'postgres', mode: 'task', cluster: 'runners', database: 'app', secretArn: RDS_SECRET, task: { subnetIds: ['subnet-0a1b2c3d4e5f60711'], securityGroupIds: ['sg-0a1b2c3d4e5f60755'] } },
  ],
};
/** The other side of each switch: an existing bucket, SSE-S3, no prefix, no restart. */
const PLAIN = { ...BASE_CONFIG, bucket: { name: 'team-existing-bucket', existing: true }, keyPrefix: '' };

function scopeOf(config: ReturnType<typeof parseConfig>, target: Target): CallScope {
  const cluster = `arn:aws:ecs:${ARN}:cluster/${target.cluster}`;
  return {
    bucket: `arn:aws:s3:::${config.bucket.name}`,
    existingBucket: config.bucket.existing,
    object: `arn:aws:s3:::${config.bucket.name}/${targetPrefix(config.keyPrefix, target.name)}monday.json`,
    listPrefix: targetPrefix(config.keyPrefix, target.name),
    cluster,
    task: `arn:aws:ecs:${ARN}:task/${target.cluster}/0123456789abcdef0123456789abcdef`,
    containerInstance: `arn:aws:ecs:${ARN}:container-instance/${target.cluster}/0123456789abcdef0123456789abcdef`,
    container: target.container ?? RUNNER_CONTAINER,
    service: `arn:aws:ecs:${ARN}:service/${target.cluster}/${target.service}`,
    restartable: target.allowServiceRestart,
    bucketKey: config.kmsKeyArn,
    execKey: config.execKmsKeys[target.cluster],
    session: `arn:aws:ssm:${ARN}:session/ecs-execute-command-0a1b2c3d4e5f60788`,
    s3Service: `s3.${REGION}.amazonaws.com`,
    ...(config.replication === undefined
      ? {}
      : {
          replica: {
            bucket: `arn:aws:s3:::${config.replication.bucketName}`,
            object: `arn:aws:s3:::${config.replication.bucketName}/${targetPrefix(config.keyPrefix, target.name)}monday.json`,
            key: config.replication.kmsKeyArn,
            s3Service: `s3.${config.replication.region}.amazonaws.com`,
          },
        }),
    mode: target.mode,
    ...(target.mode === 'task' && target.secretArn
      ? {
          runner: {
            taskDefinition: `arn:aws:ecs:${ARN}:task-definition/${runnerFamily(config.name, target)}:3`,
            passRoles: [runnerRole(target.name, 'exec'), runnerRole(target.name, 'task')],
            secretArn: target.secretArn,
          },
        }
      : {}),
  };
}

/**
 * KMS honours identity policies only where the key policy lets the account's IAM grant access; this is
 * the default key policy that does (the one KMS writes when none is given).
 */
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/** Runs one request against the role's policies; a request the simulator rejects as invalid fails the test. */
async function decide(policies: readonly NamedPolicy[], request: IamRequest): Promise<string> {
  const response = await runSimulation(
    {
      identityPolicies: policies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.action.startsWith('kms:') ? { resourcePolicy: DEFAULT_KEY_POLICY } : {}),
      request: { principal: PRINCIPAL, action: request.action, resource: { resource: request.resource, accountId: TEST_ACCOUNT }, contextVariables: { ...request.context } },
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(`${request.action} on ${request.resource}: the simulator rejects the request: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

const label = (r: IamRequest) => `${r.action} ${r.resource}${r.context ? ` ${JSON.stringify(r.context)}` : ''}`;

describe.each([
  ['every feature on', FULL],
  ['an existing bucket, no KMS, no prefix', PLAIN],
])('orchestrator role (%s)', (_name, raw) => {
  const config = parseConfig(raw);
  let policies: NamedPolicy[];
  beforeAll(() => {
    policies = rolePolicies(synthStack(raw), ROLE, REGION);
  });

  const requests = config.targets.flatMap((t) =>
    AWS_CALLS.filter((c) => c.by === 'orchestrator').flatMap((c) => c.needs(scopeOf(config, t)).map((r) => [`${c.command}: ${label(r)}`, r] as const)),
  );
  it.each([...requests, ...RUNTIME_REQUESTS(FILE_SYSTEM, ACCESS_POINT, LOG_STREAM).map((r) => [`runtime: ${label(r)}`, r] as const)])('allows %s', async (_l, request) => {
    expect(await decide(policies, request)).toBe('Allowed');
  });
});

describe('orchestrator role denies', () => {
  const config = parseConfig(FULL);
  const blue = scopeOf(config, config.targets[0] as Target);
  const unconfigured = `arn:aws:ecs:${ARN}:cluster/payments`;
  const bucket = `arn:aws:s3:::${config.bucket.name}`;
  let policies: NamedPolicy[];
  beforeAll(() => {
    policies = rolePolicies(synthStack(FULL), ROLE, REGION);
  });

  it.each<[string, IamRequest, string]>([
    ['ssm:StartSession on a task', { action: 'ssm:StartSession', resource: `arn:aws:ecs:${ARN}:task/blue/0123456789abcdef0123456789abcdef` }, 'ExplicitlyDenied'],
    ['ssm:StartSession on an instance', { action: 'ssm:StartSession', resource: `arn:aws:ec2:${ARN}:instance/i-0123456789abcdef0` }, 'ExplicitlyDenied'],
    [
      'ecs:ExecuteCommand in an unconfigured cluster',
      { action: 'ecs:ExecuteCommand', resource: `arn:aws:ecs:${ARN}:task/payments/0123456789abcdef0123456789abcdef`, context: { 'ecs:cluster': unconfigured, 'ecs:container-name': 'postgres' } },
      'ImplicitlyDenied',
    ],
    ['ecs:ExecuteCommand on an unconfigured cluster', { action: 'ecs:ExecuteCommand', resource: unconfigured, context: { 'ecs:cluster': unconfigured, 'ecs:container-name': 'postgres' } }, 'ImplicitlyDenied'],
    ['ecs:ExecuteCommand into another container', { action: 'ecs:ExecuteCommand', resource: blue.task, context: { 'ecs:cluster': blue.cluster, 'ecs:container-name': 'sidecar' } }, 'ImplicitlyDenied'],
    [
      "ecs:ExecuteCommand on a task of another service, where the targets' tasks carry ECS managed tags",
      { action: 'ecs:ExecuteCommand', resource: `arn:aws:ecs:${ARN}:task/green/0123456789abcdef0123456789abcdef`, context: { 'ecs:cluster': `arn:aws:ecs:${ARN}:cluster/green`, 'ecs:container-name': 'mongo', 'aws:ResourceTag/aws:ecs:serviceName': 'other-db' } },
      'ImplicitlyDenied',
    ],
    [
      'ecs:ExecuteCommand on a task without the aws:ecs:serviceName tag, there',
      { action: 'ecs:ExecuteCommand', resource: `arn:aws:ecs:${ARN}:task/green/0123456789abcdef0123456789abcdef`, context: { 'ecs:cluster': `arn:aws:ecs:${ARN}:cluster/green`, 'ecs:container-name': 'mongo' } },
      'ImplicitlyDenied',
    ],
    ['s3:PutObject outside the prefix', { action: 's3:PutObject', resource: `${bucket}/other/monday.pgdump` }, 'ImplicitlyDenied'],
    ['s3:PutObject at the bucket root', { action: 's3:PutObject', resource: `${bucket}/db/prod` }, 'ImplicitlyDenied'],
    ['s3:ListBucket outside the prefix', { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'other/' } }, 'ImplicitlyDenied'],
    ['s3:DeleteObjectVersion under the prefix', { action: 's3:DeleteObjectVersion', resource: blue.object }, 'ImplicitlyDenied'],
    ['s3:DeleteObjectVersion outside the prefix', { action: 's3:DeleteObjectVersion', resource: `${bucket}/other/x` }, 'ImplicitlyDenied'],
    ['s3:DeleteObject under the prefix', { action: 's3:DeleteObject', resource: blue.object }, 'ImplicitlyDenied'],
    ['s3:PutBucketPolicy', { action: 's3:PutBucketPolicy', resource: bucket }, 'ImplicitlyDenied'],
    ['s3:PutBucketVersioning', { action: 's3:PutBucketVersioning', resource: bucket }, 'ImplicitlyDenied'],
    ['s3:PutLifecycleConfiguration', { action: 's3:PutLifecycleConfiguration', resource: bucket }, 'ImplicitlyDenied'],
    ['kms:GenerateDataKey on another key', { action: 'kms:GenerateDataKey', resource: OTHER_KEY }, 'ImplicitlyDenied'],
    ['kms:Decrypt on another key through S3', { action: 'kms:Decrypt', resource: OTHER_KEY, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } }, 'ImplicitlyDenied'],
    ['kms:Decrypt on the bucket key outside S3', { action: 'kms:Decrypt', resource: BUCKET_KEY }, 'ImplicitlyDenied'],
    ['kms:Decrypt on the exec key', { action: 'kms:Decrypt', resource: EXEC_KEY }, 'ImplicitlyDenied'],
    ['s3:PutObject in the replica', { action: 's3:PutObject', resource: blue.replica!.object }, 'ImplicitlyDenied'],
    ['s3:DeleteObjectVersion in the replica', { action: 's3:DeleteObjectVersion', resource: blue.replica!.object }, 'ImplicitlyDenied'],
    ['s3:GetObject in the replica outside the prefix', { action: 's3:GetObject', resource: `arn:aws:s3:::${REPLICA}/other/monday.pgdump` }, 'ImplicitlyDenied'],
    ['s3:ListBucket on the replica outside the prefix', { action: 's3:ListBucket', resource: `arn:aws:s3:::${REPLICA}`, context: { 's3:prefix': 'other/' } }, 'ImplicitlyDenied'],
    ['s3:GetObject in another bucket', { action: 's3:GetObject', resource: `arn:aws:s3:::someone-elses-bucket/${blue.listPrefix}monday.json` }, 'ImplicitlyDenied'],
    ['s3:PutBucketPolicy on the replica', { action: 's3:PutBucketPolicy', resource: `arn:aws:s3:::${REPLICA}` }, 'ImplicitlyDenied'],
    ['kms:Decrypt on the replica key through S3 of the first region', { action: 'kms:Decrypt', resource: REPLICA_KEY, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } }, 'ImplicitlyDenied'],
    ['kms:GenerateDataKey on the replica key', { action: 'kms:GenerateDataKey', resource: REPLICA_KEY, context: { 'kms:ViaService': `s3.${REPLICA_REGION}.amazonaws.com` } }, 'ImplicitlyDenied'],
    ['ecs:UpdateService on a service without allowServiceRestart', { action: 'ecs:UpdateService', resource: blue.service, context: { 'ecs:cluster': blue.cluster } }, 'ImplicitlyDenied'],
    ['ssm:TerminateSession of a non-exec session', { action: 'ssm:TerminateSession', resource: `arn:aws:ssm:${ARN}:session/admin-0a1b2c3d4e5f60788` }, 'ImplicitlyDenied'],
    ['elasticfilesystem:ClientRootAccess without the access point', { action: 'elasticfilesystem:ClientRootAccess', resource: FILE_SYSTEM }, 'ImplicitlyDenied'],
    ['ecs:RunTask of another task definition', { action: 'ecs:RunTask', resource: `arn:aws:ecs:${ARN}:task-definition/payments-migrate:1`, context: { 'ecs:cluster': `arn:aws:ecs:${ARN}:cluster/runners` } }, 'ImplicitlyDenied'],
    ['ecs:RunTask of a runner in another cluster', { action: 'ecs:RunTask', resource: `arn:aws:ecs:${ARN}:task-definition/ecs-db-backup-runner-d-rds:1`, context: { 'ecs:cluster': unconfigured } }, 'ImplicitlyDenied'],
    ['ecs:StopTask in an unconfigured cluster', { action: 'ecs:StopTask', resource: `arn:aws:ecs:${ARN}:task/payments/0123456789abcdef0123456789abcdef`, context: { 'ecs:cluster': unconfigured } }, 'ImplicitlyDenied'],
    ['iam:PassRole of a runner role to another service', { action: 'iam:PassRole', resource: runnerRole('d-rds', 'task'), context: { 'iam:PassedToService': 'lambda.amazonaws.com' } }, 'ImplicitlyDenied'],
    ['iam:PassRole of another role', { action: 'iam:PassRole', resource: `arn:aws:iam::${TEST_ACCOUNT}:role/admin`, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }, 'ImplicitlyDenied'],
    ['secretsmanager:GetSecretValue of another secret', { action: 'secretsmanager:GetSecretValue', resource: OTHER_SECRET }, 'ImplicitlyDenied'],
    ['elasticfilesystem:ClientMount without the access point', { action: 'elasticfilesystem:ClientMount', resource: FILE_SYSTEM }, 'ImplicitlyDenied'],
  ])('%s', async (_name, request, expected) => {
    expect(await decide(policies, request)).toBe(expected);
  });

  it('denies what a feature grants when the feature is off', async () => {
    const plain = rolePolicies(synthStack(PLAIN), ROLE, REGION);
    const target = parseConfig(PLAIN).targets[0] as Target;
    const off = { ...scopeOf(parseConfig(PLAIN), target), restartable: true, bucketKey: BUCKET_KEY, execKey: EXEC_KEY };
    const gated = AWS_CALLS.filter((c) => ['UpdateServiceCommand', 'GenerateDataKeyCommand', 'PutObjectCommand'].includes(c.command) && c.by === 'orchestrator')
      .flatMap((c) => c.needs(off))
      .filter((r) => r.action.startsWith('kms:') || r.action === 'ecs:UpdateService');
    expect(gated.map((r) => r.action).sort()).toEqual(['ecs:UpdateService', 'kms:GenerateDataKey', 'kms:GenerateDataKey']);
    for (const request of gated) expect(await decide(plain, request), label(request)).toBe('ImplicitlyDenied');
    // Without replication, no read of the replica (nor of any bucket but the dump bucket).
    const full = scopeOf(config, config.targets[0] as Target);
    const replicaReads = AWS_CALLS.filter((c) => c.by === 'orchestrator')
      .flatMap((c) => c.needs(full))
      .filter((r) => r.resource.includes(REPLICA) || r.resource === REPLICA_KEY);
    expect(replicaReads.map((r) => r.action).sort()).toEqual(['kms:Decrypt', 's3:GetObject', 's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions']);
    for (const request of replicaReads) expect(await decide(plain, request), label(request)).toBe('ImplicitlyDenied');
    // And the other way round: a created bucket's versioning is the stack's, the Lambda does not read it.
    const created = scopeOf(config, config.targets[0] as Target);
    const versioning = AWS_CALLS.filter((c) => c.command === 'GetBucketVersioningCommand').flatMap((c) => c.needs({ ...created, existingBucket: true }));
    expect(versioning).toHaveLength(1);
    for (const request of versioning) expect(await decide(policies, request), label(request)).toBe('ImplicitlyDenied');
  });
});
