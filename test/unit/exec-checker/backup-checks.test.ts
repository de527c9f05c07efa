import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { DescribeAccessPointsCommand } from '@aws-sdk/client-efs';
import { DescribeKeyCommand, type KeyState } from '@aws-sdk/client-kms';
import { GetBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { backupMount } from '../../../functions/shared/exec-checker/backup-mount.js';
import { targetPosixUser } from '../../../functions/shared/core/target-posix-user.js';
import { execKms } from '../../../functions/shared/exec-checker/exec-kms.js';
import { execLogEncryption } from '../../../functions/shared/exec-checker/exec-log-encryption.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';
import { goodBackup, goodTaskDefinition, IDS, makeContext, simulateWith } from './fixtures.js';

const brief = (results: CheckResult[]) => results.map((r) => [r.verdict, r.title, r.message, r.fix]);
const TITLE = 'Backup mount (postgres)';
const howTo = `add an EFS volume (fileSystemId ${IDS.fileSystemId}, access point target_access_point_ids["orders-pg"] of the stack's outputs, transit encryption and IAM authorization enabled) to the task definition and mount it in postgres at /backup`;
const OWN = targetPosixUser({ efs: { posixUid: 1000, posixGid: 1000 }, target: { name: 'orders-pg' } });
const OWN_ROOT = '/ecs-db-backup/orders-pg';
const useOwn = `mount target_access_point_ids["orders-pg"] (rooted at ${OWN_ROOT}) on volume backup`;
type EfsVolume = NonNullable<TaskDefinition['volumes']>[number]['efsVolumeConfiguration'];
const viaAccessPoint: EfsVolume = { fileSystemId: IDS.fileSystemId, transitEncryption: 'ENABLED', authorizationConfig: { accessPointId: IDS.accessPointId, iam: 'ENABLED' } };

function definition(mount: { containerPath?: string; readOnly?: boolean }, efs?: EfsVolume): TaskDefinition {
  return {
    containerDefinitions: [{ name: 'postgres', mountPoints: [{ sourceVolume: 'backup', containerPath: mount.containerPath ?? '/backup', readOnly: mount.readOnly }] }],
    volumes: [efs === undefined ? { name: 'backup', host: { sourcePath: '/srv' } } : { name: 'backup', efsVolumeConfiguration: efs }],
  };
}

describe('backup-mount', () => {
  const own = { Path: OWN_ROOT, user: { Uid: OWN.uid, Gid: OWN.gid } };
  it.each([
    ["the target's own access point", definition({}, viaAccessPoint), own, [['green', TITLE, `access point ${IDS.accessPointId} (${IDS.fileSystemId}:${OWN_ROOT}) at /backup`, undefined]]],
    ['the orchestrator\'s access point (every target\'s directory)', definition({}, viaAccessPoint), { Path: '/ecs-db-backup', user: { Uid: 0, Gid: 0 } }, [
      ['red', TITLE, `access point ${IDS.accessPointId} is rooted at /ecs-db-backup, not ${OWN_ROOT}: it is not orders-pg's own access point`, useOwn],
    ]],
    ["another target's access point", definition({}, viaAccessPoint), { Path: '/ecs-db-backup/shop-mariadb', user: { Uid: 4242, Gid: 4242 } }, [
      ['red', TITLE, `access point ${IDS.accessPointId} is rooted at /ecs-db-backup/shop-mariadb, not ${OWN_ROOT}: it is not orders-pg's own access point`, useOwn],
    ]],
    ['an access point at the right directory with another user', definition({}, viaAccessPoint), { Path: `${OWN_ROOT}/`, user: { Uid: 4242, Gid: 4242 } }, [
      ['red', TITLE, `access point ${IDS.accessPointId} runs as 4242:4242, not ${OWN.uid}:${OWN.gid}: it is not orders-pg's own access point`, useOwn],
    ]],
    ['a mount without transit encryption or IAM authorization', definition({}, { fileSystemId: IDS.fileSystemId, authorizationConfig: { accessPointId: IDS.accessPointId } }), own, [
      ['green', TITLE, `access point ${IDS.accessPointId} (${IDS.fileSystemId}:${OWN_ROOT}) at /backup`, undefined],
      ['yellow', 'Backup mount encryption', 'volume backup is mounted without transit encryption: dumps cross the network in the clear and the file-system policy (efs.manageFileSystemPolicy, or the efs_file_system_policy output merged into yours) refuses it', 'set transitEncryption = ENABLED on volume backup'],
      ['yellow', 'Backup mount authorization', "volume backup mounts without IAM authorization: EFS cannot tell orders-pg's tasks (role orders-db-task) from others, and the file-system policy (efs.manageFileSystemPolicy, or the efs_file_system_policy output merged into yours) refuses it", 'set authorizationConfig.iam = ENABLED on volume backup'],
    ]],
    ['a root directory without an access point', definition({}, { fileSystemId: IDS.fileSystemId, rootDirectory: OWN_ROOT }), undefined, [
      ['red', TITLE, `/backup mounts ${IDS.fileSystemId}:${OWN_ROOT} without an access point: the container would see other targets' directories, or none of its own`, howTo],
    ]],
    ['the file system root', definition({}, { fileSystemId: IDS.fileSystemId }), undefined, [
      ['red', TITLE, `/backup mounts ${IDS.fileSystemId}:/ without an access point: the container would see other targets' directories, or none of its own`, howTo],
    ]],
    ['another file system', definition({}, { fileSystemId: 'fs-0000000000000ffff' }), undefined, [['red', TITLE, `/backup is on file system fs-0000000000000ffff, not the backup file system ${IDS.fileSystemId}`, howTo]]],
    ['a read-only mount', definition({ readOnly: true }, viaAccessPoint), own, [
      ['red', TITLE, '/backup is mounted read-only', 'set readOnly = false on the mount point /backup of postgres: the dump is written there'],
    ]],
    ['a host volume', definition({}), undefined, [['red', TITLE, 'volume backup at /backup is not an EFS volume', howTo]]],
    ['nothing at backupDir', definition({ containerPath: '/var/backup' }, { fileSystemId: IDS.fileSystemId }), undefined, [['red', TITLE, 'nothing is mounted at /backup', howTo]]],
    ['no such container', { containerDefinitions: [{ name: 'pg' }] }, undefined, [['red', TITLE, 'the task definition has no container postgres', 'set targets[].container of orders-pg to one of: pg']]],
  ] as [string, TaskDefinition, { Path: string; user: { Uid: number; Gid: number } } | undefined, unknown][])('reports %s', async (_, taskDefinition, accessPoint, expected) => {
    const { ctx, mocks } = makeContext({ taskDefinition, backup: goodBackup() });
    mocks.efs.on(DescribeAccessPointsCommand, { AccessPointId: IDS.accessPointId }).resolves({
      AccessPoints: [{ AccessPointId: IDS.accessPointId, RootDirectory: { Path: accessPoint?.Path }, PosixUser: accessPoint?.user }],
    });
    expect(brief(await backupMount(ctx))).toEqual(expected);
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
  const KEY = IDS.kmsKeyArn;
  const TITLE = 'Exec session encryption (orchestrator)';
  const encrypted = { clusterArn: IDS.clusterArn, clusterName: 'prod', configuration: { executeCommandConfiguration: { kmsKeyId: KEY } } };
  /** The example config's orders-pg target, with execKmsKeys set as given. */
  const backupWith = (execKmsKeys: Record<string, string>, fn?: Parameters<typeof goodBackup>[0]) => {
    const backup = goodBackup(fn);
    return { ...backup, config: { ...backup.config, execKmsKeys } };
  };
  const context = (backup: ReturnType<typeof backupWith>, state: string | Error = 'Enabled', decision = 'allowed') => {
    const made = makeContext({ backup, execKmsKeyArn: KEY, cluster: encrypted });
    if (state instanceof Error) made.mocks.kms.on(DescribeKeyCommand).rejects(state);
    else made.mocks.kms.on(DescribeKeyCommand, { KeyId: KEY }).resolves({ KeyMetadata: { KeyId: '1111-2222', Arn: KEY, KeyState: state as KeyState } });
    simulateWith(made.mocks.iam, (action, resource) => (action === 'kms:GenerateDataKey' && resource === KEY ? decision : 'implicitDeny'));
    return made.ctx;
  };
  const head = ['green', TITLE, `sessions are encrypted with ${KEY}; the orchestrator runs the KMS handshake`, undefined];
  const stateOk = ['green', 'Exec KMS key state', `${KEY} is Enabled`, undefined];
  const configOk = ['green', 'Exec KMS key in the config', `execKmsKeys.prod is ${KEY}`, undefined];
  const roleOk = ['green', 'Orchestrator can make session data keys', `kms:GenerateDataKey allowed on ${KEY} for ${IDS.lambdaRoleArn}`, undefined];
  const configFix = `set execKmsKeys.prod to "${KEY}" in the config and redeploy, so the orchestrator's role gets kms:GenerateDataKey on it`;

  it('reports a cluster without a KMS key as green, with nothing more to check', async () => {
    const { ctx } = makeContext({ backup: goodBackup() });
    expect(brief(await execKms(ctx))).toEqual([['green', TITLE, 'no KMS key: sessions need no KMS handshake', undefined]]);
  });

  it('reports an enabled key, named in the config, that the orchestrator may use, as green', async () => {
    expect(brief(await execKms(context(backupWith({ prod: KEY }))))).toEqual([head, stateOk, configOk, roleOk]);
  });

  it.each([
    ['disabled', 'Disabled', `enable ${KEY} (aws kms enable-key)`],
    ['pending deletion', 'PendingDeletion', `cancel the deletion of ${KEY} (aws kms cancel-key-deletion) and enable it`],
  ])('reports a %s key as red', async (_name, state, fix) => {
    const results = brief(await execKms(context(backupWith({ prod: KEY }), state)));
    expect(results[1]).toEqual(['red', 'Exec KMS key state', `${KEY} is ${state}: no session can get a data key, so every backup fails with KmsKeyDisabledError`, fix]);
  });

  it('warns when the key cannot be described', async () => {
    const results = brief(await execKms(context(backupWith({ prod: KEY }), new Error('AccessDeniedException: not allowed'))));
    expect(results[1]).toEqual(['yellow', 'Exec KMS key state', `kms:DescribeKey on ${KEY} failed: AccessDeniedException: not allowed`, `allow kms:DescribeKey on ${KEY} for the caller to check it`]);
  });

  it.each([
    ['does not name the key', {}, 'execKmsKeys has no key for cluster prod'],
    ['names another key', { prod: 'arn:aws:kms:eu-west-1:123456789012:key/3333-4444' }, `execKmsKeys.prod is arn:aws:kms:eu-west-1:123456789012:key/3333-4444, but the cluster encrypts sessions with ${KEY}`],
  ])('reports a config that %s as red', async (_name, keys, message) => {
    expect(brief(await execKms(context(backupWith(keys))))[2]).toEqual(['red', 'Exec KMS key in the config', message, configFix]);
  });

  it('reports an orchestrator role without kms:GenerateDataKey as red', async () => {
    expect(brief(await execKms(context(backupWith({ prod: KEY }), 'Enabled', 'implicitDeny')))[3]).toEqual([
      'red',
      'Orchestrator can make session data keys',
      `kms:GenerateDataKey is implicitDeny on ${KEY} for ${IDS.lambdaRoleArn}: backups fail with KmsAccessDeniedError`,
      `set execKmsKeys.prod to "${KEY}" in the config and redeploy; if it is set, check that the key policy lets IAM policies of the account grant access`,
    ]);
  });

  it('leaves the role out when the orchestrator function is not found', async () => {
    expect(brief(await execKms(context(backupWith({ prod: KEY }, { error: 'Function not found' }))))).toEqual([head, stateOk, configOk]);
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
