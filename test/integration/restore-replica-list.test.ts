import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putManifest } from '../../functions/shared/adapters/s3-backups.js';
import { backupKey } from '../../functions/shared/core/s3-keys.js';
import { main, type CliIo } from '../../scripts/restore.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';
import { BASE_CONFIG } from '../helpers/synth.js';
import { tempDir } from '../helpers/temp-dir.js';

/** `npm run restore -- --list --region <replica region>` reads the replica bucket (moto holds both buckets). */

const PREFIX = 'ecs-db-backup/';
const REPLICA = 'backups-replica';
let moto: MotoS3;
let configPath: string;

function fakeIo(): CliIo & { stdout: string; stderr: string } {
  const t = { stdout: '', stderr: '', interactive: false, out: (s: string) => void (t.stdout += s), err: (s: string) => void (t.stderr += s), ask: async () => '', sleep: async () => undefined };
  return t;
}

beforeAll(async () => {
  moto = await startMotoS3();
  await moto.client.send(new CreateBucketCommand({ Bucket: REPLICA }));
  await moto.client.send(new PutBucketVersioningCommand({ Bucket: REPLICA, VersioningConfiguration: { Status: 'Enabled' } }));
  // Only the replica has the backup: the source lost it.
  const key = backupKey(PREFIX, 'app-pg', 'friday', 'pgdump');
  const put = await moto.client.send(new PutObjectCommand({ Bucket: REPLICA, Key: key, Body: Buffer.alloc(2048, 1) }));
  await putManifest(moto.client, REPLICA, PREFIX, {
    version: 1, target: 'app-pg', engine: 'postgres', key, weekday: 'friday', size: 2048, sha256: 'b'.repeat(64), toolVersion: 'pg_dump 15',
    runId: 'run-1', sourceTask: 'task/1', startedAt: '2026-11-20T00:00:00Z', dumpEndedAt: '2026-11-20T00:00:02Z', uploadedAt: '2026-11-20T00:00:04Z',
    checks: [{ name: 'pg_restore --list', status: 0 }], counts: { tables: {} }, objectVersionId: put.VersionId ?? null,
  });
  configPath = join(tempDir('restore-replica'), 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...BASE_CONFIG, bucket: { name: moto.bucket }, replication: { region: 'eu-central-1', bucketName: REPLICA } }));
});
afterAll(async () => {
  await moto?.stop();
});

describe('restore --list --region', () => {
  const regions: string[] = [];
  const clients = (_config: unknown, region: string) => {
    regions.push(region);
    return { lambda: new LambdaClient({ region }), s3: moto.client };
  };

  it("lists the replica's backups with an S3 client of the replica region", async () => {
    const io = fakeIo();
    expect(await main(['--target', 'app-pg', '--list', '--region', 'eu-central-1', '--config', configPath], io, clients)).toBe(0);
    expect(regions.at(-1)).toBe('eu-central-1');
    expect(io.stdout).toMatch(/^friday\s+2\.0 KiB\s+2026-11-20 00:00:04Z\s+\S+\s+current, latest$/m);
  });

  it('lists the source bucket without --region', async () => {
    const io = fakeIo();
    expect(await main(['--target', 'app-pg', '--list', '--config', configPath], io, clients)).toBe(0);
    expect(regions.at(-1)).toBe('eu-west-1');
    expect(io.stdout).toBe('no backups\n');
  });

  it.each([
    [['--list', '--region', 'us-east-1'], 'error: --region must be eu-west-1 or eu-central-1 (the bucket\'s or the replica\'s region), got "us-east-1"\n'],
  ])('rejects %j', async (args, message) => {
    const io = fakeIo();
    expect(await main(['--target', 'app-pg', ...args, '--config', configPath], io, clients)).toBe(2);
    expect(io.stderr).toBe(message);
  });
});
