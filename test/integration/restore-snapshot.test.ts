import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackupClient } from '@aws-sdk/client-backup';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { snapshotMain } from '../../scripts/restore/snapshot-cli.js';
import type { CliIo } from '../../scripts/restore.js';
import { startAwsBackupStandin, type AwsBackupStandin } from '../helpers/aws-backup-standin.js';
import { BASE_CONFIG } from '../helpers/synth.js';
import { tempDir } from '../helpers/temp-dir.js';

// moto 5.2's AWS Backup has no recovery points, restore metadata or restore jobs: the stand-in serves them.
const SOURCE = 'eu-west-1';
const COPY = 'eu-central-1';
const ACCOUNT = '111122223333';
const TABLE = `arn:aws:dynamodb:${SOURCE}:${ACCOUNT}:table/orders`;
const USERS = `arn:aws:dynamodb:${SOURCE}:${ACCOUNT}:table/users`;
const DB = `arn:aws:rds:${SOURCE}:${ACCOUNT}:db:shop`;
const FS = `arn:aws:elasticfilesystem:${SOURCE}:${ACCOUNT}:file-system/fs-0a1b2c3d4e5f60733`;
const point = (region: string, id: string) => `arn:aws:backup:${region}:${ACCOUNT}:recovery-point:${id}`;
const day = (d: number) => new Date(Date.UTC(2026, 10, d, 3, 5));

let standin: AwsBackupStandin;
let configPath: string;
let noSnapshotsPath: string;

function io(): CliIo & { stdout: string; stderr: string } {
  const t = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (t.stdout += s),
    err: (s: string) => void (t.stderr += s),
    interactive: false,
    ask: async () => '',
    sleep: async () => undefined,
  };
  return t;
}

const clients = (region: string) =>
  new BackupClient({ region, endpoint: standin.endpoint, credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin' } });
const run = (args: string[]) => {
  const t = io();
  return snapshotMain(['--snapshot', '--config', configPath, '--poll-seconds', '0', ...args], t, clients).then((code) => ({ code, ...t }));
};

beforeAll(async () => {
  standin = await startAwsBackupStandin();
  const dir = tempDir('restore-snapshot');
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...BASE_CONFIG, snapshots: { copyToRegion: { region: COPY } } }));
  noSnapshotsPath = join(dir, 'plain.json');
  writeFileSync(noSnapshotsPath, JSON.stringify(BASE_CONFIG));
});
afterAll(async () => {
  await standin?.stop();
});
beforeEach(() => {
  standin.vaults.clear();
  standin.vaults.add(`${SOURCE}/ecs-db-backup-snapshots`).add(`${COPY}/ecs-db-backup-snapshots-copy`);
  standin.points.length = 0;
  standin.jobs.length = 0;
  standin.liveNames.clear();
  const vault = 'ecs-db-backup-snapshots';
  const meta = { originalTableName: 'orders' };
  standin.points.push(
    { region: SOURCE, vaultName: vault, arn: point(SOURCE, 'orders-1'), resourceArn: TABLE, resourceType: 'DynamoDB', createdAt: day(1), restoreMetadata: meta },
    { region: SOURCE, vaultName: vault, arn: point(SOURCE, 'orders-3'), resourceArn: TABLE, resourceType: 'DynamoDB', createdAt: day(3), restoreMetadata: meta },
    { region: SOURCE, vaultName: vault, arn: point(SOURCE, 'orders-4'), resourceArn: TABLE, resourceType: 'DynamoDB', createdAt: day(4), status: 'EXPIRED', restoreMetadata: meta },
    { region: SOURCE, vaultName: vault, arn: point(SOURCE, 'users-2'), resourceArn: USERS, resourceType: 'DynamoDB', createdAt: day(2), restoreMetadata: {} },
    { region: SOURCE, vaultName: vault, arn: point(SOURCE, 'shop-2'), resourceArn: DB, resourceType: 'RDS', createdAt: day(2), restoreMetadata: { DBInstanceClass: 'db.t4g.micro' } },
    { region: SOURCE, vaultName: vault, arn: point(SOURCE, 'fs-2'), resourceArn: FS, resourceType: 'EFS', createdAt: day(2), restoreMetadata: { 'file-system-id': 'fs-0a1b2c3d4e5f60733', newFileSystem: 'false', Encrypted: 'true' } },
    { region: COPY, vaultName: `${vault}-copy`, arn: point(COPY, 'orders-3-copy'), resourceArn: TABLE, resourceType: 'DynamoDB', createdAt: day(3), restoreMetadata: meta },
  );
});

describe('npm run restore -- --snapshot', () => {
  it('lists the recovery points of every tagged resource in both regions, newest first, paging through the vaults', async () => {
    const { code, stdout } = await run(['--tag', '--list']);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CREATED\s+REGION\s+TYPE\s+RESOURCE\s+STATUS\s+DELETED AFTER\s+RECOVERY POINT$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).at(-1))).toEqual([
      point(SOURCE, 'orders-4'),
      point(SOURCE, 'orders-3'),
      point(COPY, 'orders-3-copy'),
      point(SOURCE, 'users-2'),
      point(SOURCE, 'shop-2'),
      point(SOURCE, 'fs-2'),
      point(SOURCE, 'orders-1'),
    ]);
    expect(lines[1]).toMatch(/^2026-11-04T03:05:00Z\s+eu-west-1\s+DynamoDB\s+orders\s+EXPIRED\s+2026-11-11T03:05:00Z\s/);
  });

  it("lists one resource's points with --resource", async () => {
    const { code, stdout } = await run(['--resource', DB, '--list']);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(stdout).toContain(point(SOURCE, 'shop-2'));
  });

  it('restores the newest completed point of a table into a new table with the snapshot role, and prints it', async () => {
    const { code, stdout, stderr } = await run(['--resource', TABLE]);
    expect(code).toBe(0);
    expect(standin.jobs).toHaveLength(1);
    const job = standin.jobs[0]!;
    expect(job).toMatchObject({
      region: SOURCE,
      recoveryPointArn: point(SOURCE, 'orders-3'),
      iamRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecs-db-backup-snapshots`,
      resourceType: 'DynamoDB',
      metadata: { originalTableName: 'orders', targetTableName: expect.stringMatching(/^orders-restored-\d{12}$/) },
    });
    expect(stderr).toMatch(/PENDING[\s\S]*RUNNING[\s\S]*COMPLETED/);
    expect(stdout).toBe(`restored ${TABLE} into arn:aws:dynamodb:${SOURCE}:${ACCOUNT}:table/${job.metadata.targetTableName} (job ${job.id}, from ${point(SOURCE, 'orders-3')})\n`);
  });

  it('restores from the copy region with --region', async () => {
    const { code } = await run(['--resource', TABLE, '--region', COPY, '--new-name', 'orders_dr']);
    expect(code).toBe(0);
    expect(standin.jobs[0]).toMatchObject({ region: COPY, recoveryPointArn: point(COPY, 'orders-3-copy'), metadata: { targetTableName: 'orders_dr' } });
  });

  it.each([
    ['the table itself', 'orders'],
    ['another protected table', 'users'],
  ])('refuses to restore over %s and starts no job', async (_, name) => {
    const { code, stderr } = await run(['--resource', TABLE, '--new-name', name]);
    expect(code).toBe(1);
    expect(stderr).toBe(`error: refusing to restore into "${name}": a live DynamoDB resource has that name; choose a new one with --new-name\n`);
    expect(standin.jobs).toEqual([]);
  });

  it('refuses an RDS identifier that differs from the live one only in case (RDS folds case)', async () => {
    const { code, stderr } = await run(['--resource', DB, '--new-name', 'SHOP']);
    expect(code).toBe(1);
    expect(stderr).toContain('refusing to restore into "SHOP"');
    expect(standin.jobs).toEqual([]);
  });

  it('restores a file system into a new one even when its metadata says in place', async () => {
    const { code } = await run(['--resource', FS, '--new-name', 'fs-restore-1']);
    expect(code).toBe(0);
    expect(standin.jobs[0]?.metadata).toEqual({ 'file-system-id': 'fs-0a1b2c3d4e5f60733', newFileSystem: 'true', Encrypted: 'true', CreationToken: 'fs-restore-1' });
  });

  it('reports a job that AWS Backup failed, with its reason', async () => {
    standin.liveNames.set(SOURCE, new Set(['orders-old']));
    const { code, stderr } = await run(['--resource', TABLE, '--new-name', 'orders-old']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/error: restore job \S+ FAILED: orders-old already exists\n$/);
  });

  it('asks for --resource when the tag selects several resources', async () => {
    const { code, stderr } = await run(['--tag']);
    expect(code).toBe(2);
    expect(stderr).toContain(`error: the tag selects 4 resources; choose one with --resource:\n  ${TABLE}\n`);
  });

  it('refuses a recovery point that is not completed', async () => {
    const { code, stderr } = await run(['--resource', TABLE, '--recovery-point', point(SOURCE, 'orders-4')]);
    expect(code).toBe(1);
    expect(stderr).toBe(`error: recovery point ${point(SOURCE, 'orders-4')} is EXPIRED, not COMPLETED: choose another (see --list)\n`);
  });

  it('names the vault AWS Backup does not know', async () => {
    standin.vaults.delete(`${COPY}/ecs-db-backup-snapshots-copy`);
    const { code, stderr } = await run(['--tag', '--list']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: listing the recovery points of vault ecs-db-backup-snapshots-copy in eu-central-1 failed: Backup vault ecs-db-backup-snapshots-copy does not exist/);
  });

  it.each([
    [['--resource', TABLE, '--tag'], 'error: pass exactly one of --resource ARN and --tag\n'],
    [['--resource', 'arn:aws:s3:::bucket'], 'error: --resource must be the ARN of an EBS volume, EFS file system, DynamoDB table or RDS instance, got "arn:aws:s3:::bucket"\n'],
    [['--tag', '--list', '--new-name', 'x'], 'error: --list only lists: drop --recovery-point and --new-name\n'],
  ])('rejects the usage %j', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toBe(message);
  });

  it('rejects a config without snapshots', async () => {
    const t = io();
    expect(await snapshotMain(['--snapshot', '--tag', '--config', noSnapshotsPath], t, clients)).toBe(2);
    expect(t.stderr).toBe('error: the config has no "snapshots" section: this deployment takes no snapshots\n');
  });
});
