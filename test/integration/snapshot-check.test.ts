import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackupClient } from '@aws-sdk/client-backup';
import { CreateVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateFileSystemCommand, EFSClient } from '@aws-sdk/client-efs';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { CreateBucketCommand, PutBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotMain } from '../../scripts/restore/snapshot-cli.js';
import { startAwsBackupStandin, type AwsBackupStandin } from '../helpers/aws-backup-standin.js';
import { startMotoServer, type MotoServer } from '../helpers/moto.js';
import { BASE_CONFIG } from '../helpers/synth.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * `npm run restore -- --snapshot --check`: the tagged resources come from moto's Resource Groups Tagging API
 * (real EBS volumes, EFS file systems and an S3 bucket made in moto), the recovery points from the AWS Backup
 * stand-in (moto 5.2 has none).
 */

const REGION = 'eu-west-1';
const KEY = 'ecs-db-backup:snapshot';
let moto: MotoServer;
let standin: AwsBackupStandin;
let configPath: string;
let volumeArn: string;
let efsArn: string;
let wrongValueArn: string;

beforeAll(async () => {
  moto = await startMotoServer();
  standin = await startAwsBackupStandin();
  const cfg = { endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } };
  const ec2 = new EC2Client(cfg);
  const efs = new EFSClient(cfg);
  const s3 = new S3Client({ ...cfg, forcePathStyle: true });
  try {
    const vol = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${REGION}a`, Size: 8, TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: KEY, Value: 'true' }] }] }));
    const owner = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${REGION}a`, Size: 1 }))).VolumeId; // untagged: not reported
    expect(owner).toBeDefined();
    const fs = await efs.send(new CreateFileSystemCommand({ CreationToken: 'data', Tags: [{ Key: KEY, Value: 'true' }] }));
    const wrong = await efs.send(new CreateFileSystemCommand({ CreationToken: 'other', Tags: [{ Key: KEY, Value: 'True' }] }));
    await s3.send(new CreateBucketCommand({ Bucket: 'tagged-bucket', CreateBucketConfiguration: { LocationConstraint: REGION } }));
    await s3.send(new PutBucketTaggingCommand({ Bucket: 'tagged-bucket', Tagging: { TagSet: [{ Key: KEY, Value: 'true' }] } }));
    const account = fs.FileSystemArn!.split(':')[4];
    volumeArn = `arn:aws:ec2:${REGION}:${account}:volume/${vol.VolumeId}`;
    efsArn = fs.FileSystemArn!;
    wrongValueArn = wrong.FileSystemArn!;
  } finally {
    ec2.destroy();
    efs.destroy();
    s3.destroy();
  }
  standin.vaults.add(`${REGION}/ecs-db-backup-snapshots`);
  standin.points.push({
    region: REGION,
    vaultName: 'ecs-db-backup-snapshots',
    arn: `arn:aws:backup:${REGION}:123456789012:recovery-point:vol-1`,
    resourceArn: volumeArn,
    resourceType: 'EBS',
    createdAt: new Date('2026-11-20T03:04:00Z'),
    restoreMetadata: {},
  });
  configPath = join(tempDir('snapshot-check'), 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...BASE_CONFIG, snapshots: {} }));
});
afterAll(async () => {
  await standin?.stop();
  await moto?.stop();
});

describe('npm run restore -- --snapshot --check', () => {
  it('says which tagged resources the plan selects, which it does not and why, and fails when one is not', async () => {
    const t = { stdout: '', stderr: '', interactive: false, out: (s: string) => void (t.stdout += s), err: (s: string) => void (t.stderr += s), ask: async () => '', sleep: async () => undefined };
    const backup = (region: string) => new BackupClient({ region, endpoint: standin.endpoint, credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'x' } });
    const tagging = (region: string) => new ResourceGroupsTaggingAPIClient({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } });

    const code = await snapshotMain(['--snapshot', '--check', '--config', configPath], t, backup, tagging);

    expect(t.stderr).toBe('');
    const lines = t.stdout.trimEnd().split('\n').sort();
    expect(lines).toEqual(
      [
        `NOT SELECTED  ${wrongValueArn}: tag ${KEY}="True" is not "true" (the selection compares exactly, case included)`,
        `NOT SELECTED  arn:aws:s3:::tagged-bucket: not an EBS volume, EFS file system, DynamoDB table or RDS DB instance: the plan does not select this type`,
        `ok            ${efsArn}: selected; no recovery point yet (the next backup window takes one)`,
        `ok            ${volumeArn}: selected; newest recovery point 2026-11-20T03:04:00.000Z (COMPLETED, eu-west-1)`,
      ].sort(),
    );
    expect(code).toBe(1);
  });
});
