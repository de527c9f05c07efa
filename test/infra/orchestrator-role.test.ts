import { describe, expect, it } from 'vitest';
import { statementSuffix, VPC_ENI_ACTIONS } from '../../modules/orchestrator-role.js';
import { allStatements, BASE_CONFIG, onlyResource, policyStatements, readable, synthStack, TWO_CLUSTER_TARGETS, type PolicyStatement } from '../helpers/synth.js';

const KMS = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ECS = 'arn:aws:ecs:eu-west-1:123456789012';
const EXEC_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0b0a-0908-0706-050403020100';
const EXEC_BLUE = `EcsExecuteCommand${statementSuffix('blue')}`;
const EXEC_GREEN = `EcsExecuteCommand${statementSuffix('green')}`;
const TWO_CLUSTERS = {
  ...BASE_CONFIG,
  kmsKeyArn: KMS,
  execKmsKeys: { green: EXEC_KEY },
  keyPrefix: 'db/prod/',
  targets: TWO_CLUSTER_TARGETS,
};

function statements(config: unknown = TWO_CLUSTERS): Map<string, PolicyStatement> {
  return new Map(readable(policyStatements(synthStack(config), 'role_permissions')).map((s) => [s.sid ?? '', s]));
}

describe('orchestrator role', () => {
  it('is assumable by Lambda only', () => {
    expect(policyStatements(synthStack(), 'role_assume')).toEqual([
      { actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }] },
    ]);
  });

  it('has exactly the expected statements', () => {
    expect([...statements().keys()]).toEqual([
      'EcsListTasksInClusters',
      'EcsDescribeTasksInClusters',
      'EcsDescribeClusters',
      'EcsRestartForRestore',
      EXEC_BLUE,
      EXEC_GREEN,
      'S3ObjectsUnderPrefix',
      'S3ListUnderPrefix',
      'KmsForBucketObjects',
      'KmsExecSessionDataKeys',
      'SsmTerminateExecSessions',
      'EfsThroughAccessPoint',
      'SqsDeadLetterQueue',
      'VpcNetworkInterfaces',
      'OwnLogGroup',
      'DenyDirectSsmSessions',
    ]);
  });

  it.each<[string, Partial<PolicyStatement>]>([
    [
      'EcsListTasksInClusters',
      { actions: ['ecs:ListTasks'], resources: ['*'], condition: [{ test: 'ArnEquals', variable: 'ecs:cluster', values: [`${ECS}:cluster/blue`, `${ECS}:cluster/green`] }] },
    ],
    [
      'EcsDescribeTasksInClusters',
      {
        actions: ['ecs:DescribeTasks'],
        resources: [`${ECS}:task/blue/*`, `${ECS}:task/green/*`],
        condition: [{ test: 'ArnEquals', variable: 'ecs:cluster', values: [`${ECS}:cluster/blue`, `${ECS}:cluster/green`] }],
      },
    ],
    [
      'EcsDescribeClusters',
      { actions: ['ecs:DescribeClusters'], resources: [`${ECS}:cluster/blue`, `${ECS}:cluster/green`] },
    ],
    ['EcsRestartForRestore', { actions: ['ecs:UpdateService'], resources: [`${ECS}:service/blue/b-cache`] }],
    [
      EXEC_BLUE,
      {
        actions: ['ecs:ExecuteCommand'],
        resources: [`${ECS}:cluster/blue`, `${ECS}:task/blue/*`],
        condition: [{ test: 'StringEquals', variable: 'ecs:container-name', values: ['postgres', 'redis'] }],
      },
    ],
    [
      EXEC_GREEN,
      {
        actions: ['ecs:ExecuteCommand'],
        resources: [`${ECS}:cluster/green`, `${ECS}:task/green/*`],
        condition: [{ test: 'StringEquals', variable: 'ecs:container-name', values: ['mongo'] }],
      },
    ],
    [
      'S3ObjectsUnderPrefix',
      {
        actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: ['${aws_s3_bucket.bucket_3056591E.arn}/db/prod/*'],
      },
    ],
    [
      'S3ListUnderPrefix',
      {
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resources: ['${aws_s3_bucket.bucket_3056591E.arn}'],
        condition: [{ test: 'StringLike', variable: 's3:prefix', values: ['db/prod/*'] }],
      },
    ],
    [
      'KmsForBucketObjects',
      {
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [KMS],
        condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: ['s3.eu-west-1.amazonaws.com'] }],
      },
    ],
    ['KmsExecSessionDataKeys', { actions: ['kms:GenerateDataKey'], resources: [EXEC_KEY] }],
    ['SsmTerminateExecSessions', { actions: ['ssm:TerminateSession'], resources: ['arn:aws:ssm:eu-west-1:123456789012:session/ecs-execute-command-*'] }],
    [
      'EfsThroughAccessPoint',
      {
        actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
        resources: ['arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0a1b2c3d4e5f60733'],
        condition: [{ test: 'StringEquals', variable: 'elasticfilesystem:AccessPointArn', values: ['${aws_efs_access_point.efs_access-point_26B25120.arn}'] }],
      },
    ],
    ['VpcNetworkInterfaces', { actions: [...VPC_ENI_ACTIONS], resources: ['*'] }],
    [
      'OwnLogGroup',
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: ['arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/ecs-db-backup-orchestrator:*'],
      },
    ],
    ['DenyDirectSsmSessions', { effect: 'Deny', actions: ['ssm:StartSession'], resources: ['*'] }],
  ])('grants %s exactly', (sid, expected) => {
    const statement = statements().get(sid);
    expect(statement).toEqual({ sid, ...expected });
  });

  it('reads the versioning of an existing bucket, and nothing else of the bucket', () => {
    const all = statements({ ...BASE_CONFIG, bucket: { name: 'shared-backups', existing: true } });
    expect(all.get('S3ReadBucketVersioning')).toEqual({ sid: 'S3ReadBucketVersioning', actions: ['s3:GetBucketVersioning'], resources: ['arn:aws:s3:::shared-backups'] });
  });

  it.each(['KmsForBucketObjects', 'KmsExecSessionDataKeys', 'EcsRestartForRestore', 'S3ReadBucketVersioning'])('has no %s statement unless configured', (sid) => {
    expect(statements(BASE_CONFIG).has(sid)).toBe(false);
  });

  it("limits ExecuteCommand to the configured services' tasks when every target of the cluster has ECS managed tags", () => {
    const tagged = { ...TWO_CLUSTERS, targets: TWO_CLUSTERS.targets.map((t) => (t.cluster === 'blue' ? { ...t, ecsManagedTags: true } : t)) };
    const all = statements(tagged);
    expect(all.get(EXEC_BLUE)).toEqual({
      sid: EXEC_BLUE,
      actions: ['ecs:ExecuteCommand'],
      resources: [`${ECS}:cluster/blue`],
      condition: [{ test: 'StringEquals', variable: 'ecs:container-name', values: ['postgres', 'redis'] }],
    });
    const sid = `EcsExecuteCommandServiceTasks${statementSuffix('blue')}`;
    expect(all.get(sid)).toEqual({
      sid,
      actions: ['ecs:ExecuteCommand'],
      resources: [`${ECS}:task/blue/*`],
      condition: [
        { test: 'StringEquals', variable: 'ecs:container-name', values: ['postgres', 'redis'] },
        { test: 'StringEquals', variable: 'aws:ResourceTag/aws:ecs:serviceName', values: ['a-db', 'b-cache'] },
      ],
    });
    // green's target has no managed tags: its tasks keep the container-name limit only.
    expect(all.get(EXEC_GREEN)?.resources).toEqual([`${ECS}:cluster/green`, `${ECS}:task/green/*`]);
    expect(all.has(`EcsExecuteCommandServiceTasks${statementSuffix('green')}`)).toBe(false);
  });

  it('keeps the container-name limit only in a cluster where one target has no managed tags', () => {
    const mixed = { ...TWO_CLUSTERS, targets: TWO_CLUSTERS.targets.map((t) => (t.name === 'a-pg' ? { ...t, ecsManagedTags: true } : t)) };
    expect(statements(mixed).get(EXEC_BLUE)?.resources).toEqual([`${ECS}:cluster/blue`, `${ECS}:task/blue/*`]);
  });

  it('gives clusters whose names differ only in what a Sid cannot hold statements with distinct Sids', () => {
    // IAM rejects a policy with two equal Sids at apply time (MalformedPolicyDocument); plan does not notice.
    const target = { engine: 'redis', service: 's', container: 'redis', backupDir: '/backup' };
    const all = readable(policyStatements(synthStack({
      ...BASE_CONFIG,
      // Different containers, so the two clusters keep a statement each (equal ones share one, below).
      targets: [{ ...target, name: 'dash', cluster: 'prod-db' }, { ...target, name: 'under', cluster: 'prod_db', container: 'cache' }],
    }), 'role_permissions'));
    const execSids = all.filter((s) => s.actions.includes('ecs:ExecuteCommand')).map((s) => s.sid);
    expect(execSids).toHaveLength(2);
    expect(new Set(all.map((s) => s.sid)).size).toBe(all.length);
    expect(execSids.every((sid) => /^EcsExecuteCommandproddb[0-9a-f]{8}$/.test(sid ?? ''))).toBe(true);
  });

  it('gives clusters running the same containers one ECS Exec statement, and a cluster with others its own', () => {
    const target = { engine: 'redis', service: 's', container: 'redis', backupDir: '/backup' };
    const exec = readable(policyStatements(synthStack({
      ...BASE_CONFIG,
      targets: [
        { ...target, name: 'a', cluster: 'shop-a' },
        { ...target, name: 'b', cluster: 'shop-b' },
        { ...target, name: 'c', cluster: 'shop-c', container: 'cache' },
      ],
    }), 'role_permissions')).filter((s) => s.actions.includes('ecs:ExecuteCommand'));
    expect(exec.map((s) => [s.resources, s.condition?.[0]?.values])).toEqual([
      [
        ['arn:aws:ecs:eu-west-1:123456789012:cluster/shop-a', 'arn:aws:ecs:eu-west-1:123456789012:task/shop-a/*', 'arn:aws:ecs:eu-west-1:123456789012:cluster/shop-b', 'arn:aws:ecs:eu-west-1:123456789012:task/shop-b/*'],
        ['redis'],
      ],
      [['arn:aws:ecs:eu-west-1:123456789012:cluster/shop-c', 'arn:aws:ecs:eu-west-1:123456789012:task/shop-c/*'], ['cache']],
    ]);
  });

  it('lists the whole bucket without a prefix condition when the key prefix is empty', () => {
    const all = statements({ ...BASE_CONFIG, keyPrefix: '' });
    expect(all.get('S3ListUnderPrefix')?.condition).toBeUndefined();
    expect(all.get('S3ObjectsUnderPrefix')?.resources).toEqual(['${aws_s3_bucket.bucket_3056591E.arn}/*']);
  });

  it('allows no wildcard action anywhere except the TLS deny of the bucket', () => {
    const synth = synthStack(TWO_CLUSTERS);
    for (const statement of allStatements(synth)) {
      for (const action of statement.actions) {
        if (statement.sid === 'DenyInsecureTransport') continue;
        expect(action, `${statement.sid ?? '?'}`).not.toContain('*');
      }
    }
  });

  it('only uses "*" resources where AWS supports nothing narrower', () => {
    const wildcard = readable(policyStatements(synthStack(TWO_CLUSTERS), 'role_permissions'))
      .filter((s) => s.resources?.includes('*'))
      .map((s) => s.sid);
    expect(wildcard).toEqual(['EcsListTasksInClusters', 'VpcNetworkInterfaces', 'DenyDirectSsmSessions']);
  });

  it('attaches the policy inline to the role', () => {
    const synth = synthStack();
    expect(onlyResource(synth, 'aws_iam_role')).toMatchObject({ name: 'ecs-db-backup-orchestrator' });
    expect(onlyResource(synth, 'aws_iam_role_policy')).toMatchObject({
      role: expect.stringMatching(/^\$\{aws_iam_role\.role_\w+\.id\}$/),
      policy: expect.stringMatching(/^\$\{data\.aws_iam_policy_document\.role_permissions_\w+\.json\}$/),
    });
  });
});
