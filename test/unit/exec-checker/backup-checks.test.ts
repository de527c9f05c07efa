import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { DescribeAccessPointsCommand } from '@aws-sdk/client-efs';
import { GetBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { backupMount } from '../../../functions/shared/exec-checker/backup-mount.js';
import { execKms } from '../../../functions/shared/exec-checker/exec-kms.js';
import { execLogEncryption } from '../../../functions/shared/exec-checker/exec-log-encryption.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';
import { goodBackup, goodTaskDefinition, IDS, makeContext } from './fixtures.js';

const brief = (results: CheckResult[]) => results.map((r) => [r.verdict, r.title, r.message, r.fix]);
const TITLE = 'Backup mount (postgres)';
const howTo = `add an EFS volume (fileSystemId ${IDS.fileSystemId}, the backup access point or rootDirectory /ecs-db-backup, transit encryption) to the task definition and mount it in postgres at /backup`;

function definition(mount: { containerPath?: string; readOnly?: boolean }, efs?: NonNullable<TaskDefinition['volumes']>[number]['efsVolumeConfiguration']): TaskDefinition {
  return {
    containerDefinitions: [{ name: 'postgres', mountPoints: [{ sourceVolume: 'backup', containerPath: mount.containerPath ?? '/backup', readOnly: mount.readOnly }] }],
    volumes: [efs === undefined ? { name: 'backup', host: { sourcePath: '/srv' } } : { name: 'backup', efsVolumeConfiguration: efs }],
  };
}

describe('backup-mount', () => {
  it.each([
    ['the backup access point', definition({}, { fileSystemId: IDS.fileSystemId, authorizationConfig: { accessPointId: IDS.accessPointId } }), '/ecs-db-backup', [
      'green', TITLE, `access point ${IDS.accessPointId} (${IDS.fileSystemId}:/ecs-db-backup) at /backup`, undefined,
    ]],
    ['an access point rooted elsewhere', definition({}, { fileSystemId: IDS.fileSystemId, authorizationConfig: { accessPointId: IDS.accessPointId } }), '/data', [
      'red', TITLE, `access point ${IDS.accessPointId} is rooted at /data, but the orchestrator reads /ecs-db-backup`, `use an access point rooted at /ecs-db-backup on volume backup`,
    ]],
    ['the root directory', definition({}, { fileSystemId: IDS.fileSystemId, rootDirectory: '/ecs-db-backup/' }), undefined, ['green', TITLE, `${IDS.fileSystemId}:/ecs-db-backup at /backup`, undefined]],
    ['the file system root', definition({}, { fileSystemId: IDS.fileSystemId }), undefined, [
      'red', TITLE, `/backup mounts ${IDS.fileSystemId}:/, but the orchestrator reads /ecs-db-backup`, 'set rootDirectory = /ecs-db-backup on volume backup, or use the backup access point',
    ]],
    ['another file system', definition({}, { fileSystemId: 'fs-0000000000000ffff' }), undefined, ['red', TITLE, `/backup is on file system fs-0000000000000ffff, not the backup file system ${IDS.fileSystemId}`, howTo]],
    ['a read-only mount', definition({ readOnly: true }, { fileSystemId: IDS.fileSystemId, rootDirectory: '/ecs-db-backup' }), undefined, [
      'red', TITLE, '/backup is mounted read-only', 'set readOnly = false on the mount point /backup of postgres: the dump is written there',
    ]],
    ['a host volume', definition({}), undefined, ['red', TITLE, 'volume backup at /backup is not an EFS volume', howTo]],
    ['nothing at backupDir', definition({ containerPath: '/var/backup' }, { fileSystemId: IDS.fileSystemId }), undefined, ['red', TITLE, 'nothing is mounted at /backup', howTo]],
    ['no such container', { containerDefinitions: [{ name: 'pg' }] }, undefined, ['red', TITLE, 'the task definition has no container postgres', 'set targets[].container of orders-pg to one of: pg']],
  ] as [string, TaskDefinition, string | undefined, unknown][])('reports %s', async (_, taskDefinition, accessPointPath, expected) => {
    const { ctx, mocks } = makeContext({ taskDefinition, backup: goodBackup() });
    mocks.efs.on(DescribeAccessPointsCommand, { AccessPointId: IDS.accessPointId }).resolves({ AccessPoints: [{ AccessPointId: IDS.accessPointId, RootDirectory: { Path: accessPointPath } }] });
    expect(brief(await backupMount(ctx))).toEqual([expected]);
  });

  it('reports an access point it cannot describe', async () => {
    const { ctx, mocks } = makeContext({ taskDefinition: goodTaskDefinition(), backup: goodBackup() });
    mocks.efs.on(DescribeAccessPointsCommand).rejects(new Error('AccessPointNotFound'));
    expect(brief(await backupMount(ctx))).toEqual([
      ['red', TITLE, `cannot describe access point ${IDS.accessPointId}: AccessPointNotFound`, `allow elasticfilesystem:DescribeAccessPoints for the caller, or check that ${IDS.accessPointId} exists`],
    ]);
  });

  it('is skipped without a backup target', async () => {
    const { ctx } = makeContext();
    expect(await backupMount(ctx)).toEqual([]);
  });
});

describe('exec-kms', () => {
  it.each([
    [undefined, ['green', 'Exec session encryption (orchestrator)', 'no KMS key: the orchestrator can open sessions', undefined]],
    [IDS.kmsKeyArn, [
      'red',
      'Exec session encryption (orchestrator)',
      `the cluster encrypts ECS Exec sessions with ${IDS.kmsKeyArn}; the orchestrator does not support KMS-encrypted ECS Exec sessions yet`,
      'remove kmsKeyId from the executeCommandConfiguration of cluster prod, or back this target up from another cluster',
    ]],
  ])('reports kmsKeyId %s', async (kmsKeyId, expected) => {
    const { ctx } = makeContext({ backup: goodBackup(), execKmsKeyArn: kmsKeyId, cluster: { clusterArn: IDS.clusterArn, clusterName: 'prod', configuration: { executeCommandConfiguration: { kmsKeyId } } } });
    expect(brief(await execKms(ctx))).toEqual([expected]);
  });

  it('is skipped without a backup target', async () => {
    const { ctx } = makeContext();
    expect(await execKms(ctx)).toEqual([]);
  });
});

describe('exec-log-encryption', () => {
  const cluster = (logConfiguration: object) => ({ clusterArn: IDS.clusterArn, configuration: { executeCommandConfiguration: { logging: 'OVERRIDE' as const, logConfiguration } } });

  it.each([
    ['an encrypted log group', [{ logGroupName: '/ecs/exec', kmsKeyId: IDS.kmsKeyArn }], ['green', 'Exec log group encryption', `/ecs/exec is encrypted with ${IDS.kmsKeyArn}`, undefined]],
    ['a log group without a key', [{ logGroupName: '/ecs/exec' }], [
      'red', 'Exec log group encryption', 'log group /ecs/exec has no KMS key, but cloudWatchEncryptionEnabled is true', 'associate a KMS key with /ecs/exec (aws logs associate-kms-key), or turn off cloudWatchEncryptionEnabled',
    ]],
    ['a missing log group (only a prefix match)', [{ logGroupName: '/ecs/exec-old', kmsKeyId: 'k' }], [
      'red', 'Exec log group encryption', 'log group /ecs/exec does not exist', 'create log group /ecs/exec with a KMS key, or turn off cloudWatchEncryptionEnabled',
    ]],
  ])('reports %s', async (_, logGroups, expected) => {
    const { ctx, mocks } = makeContext({ cluster: cluster({ cloudWatchLogGroupName: '/ecs/exec', cloudWatchEncryptionEnabled: true }) });
    mocks.logs.on(DescribeLogGroupsCommand, { logGroupNamePrefix: '/ecs/exec' }).resolves({ logGroups });
    expect(brief(await execLogEncryption(ctx))).toEqual([expected]);
  });

  it.each([
    ['a bucket with default encryption', { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' as const } }] } }, ['green', 'Exec log bucket encryption', 'audit: aws:kms', undefined]],
    ['a bucket answering without a rule', { ServerSideEncryptionConfiguration: { Rules: [] } }, [
      'red', 'Exec log bucket encryption', 'bucket audit has no default encryption, but s3EncryptionEnabled is true', 'enable default encryption on audit, or turn off s3EncryptionEnabled',
    ]],
    ['a bucket without encryption', new Error('ServerSideEncryptionConfigurationNotFoundError'), [
      'red', 'Exec log bucket encryption', 'cannot read the encryption of bucket audit: ServerSideEncryptionConfigurationNotFoundError', 'enable default encryption on audit (and allow s3:GetEncryptionConfiguration), or turn off s3EncryptionEnabled',
    ]],
  ])('reports %s', async (_, answer, expected) => {
    const { ctx, mocks } = makeContext({ cluster: cluster({ s3BucketName: 'audit', s3EncryptionEnabled: true }) });
    if (answer instanceof Error) mocks.s3.on(GetBucketEncryptionCommand).rejects(answer);
    else mocks.s3.on(GetBucketEncryptionCommand, { Bucket: 'audit' }).resolves(answer);
    expect(brief(await execLogEncryption(ctx))).toEqual([expected]);
  });

  it('says nothing when encryption is not asked for', async () => {
    const { ctx, mocks } = makeContext({ cluster: cluster({ s3BucketName: 'audit', cloudWatchLogGroupName: '/ecs/exec' }) });
    expect(await execLogEncryption(ctx)).toEqual([]);
    expect(mocks.s3.calls()).toHaveLength(0);
  });
});
