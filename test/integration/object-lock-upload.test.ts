import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putManifest, readManifest } from '../../functions/shared/adapters/s3-backups.js';
import { uploadFileResumable } from '../../functions/shared/adapters/s3-transfer.js';
import type { Manifest } from '../../functions/shared/core/manifest.js';
import { backupKey, manifestKey } from '../../functions/shared/core/s3-keys.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * The orchestrator's upload code (multipart upload of the dump, then the manifest) into a bucket with
 * S3 Object Lock default retention, in moto: S3 (and moto) refuse a PutObject into such a bucket that
 * carries neither Content-MD5 nor an SDK checksum, and refuse to delete a locked version.
 */

const LOCKED = 'locked-backups';
const PREFIX = 'ecs-db-backup/';
const MiB = 1024 * 1024;
let moto: MotoS3;

beforeAll(async () => {
  moto = await startMotoS3();
  await moto.client.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
  await moto.client.send(
    new PutObjectLockConfigurationCommand({
      Bucket: LOCKED,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 14 } } },
    }),
  );
});
afterAll(async () => {
  await moto?.stop();
});

function manifestOf(key: string, size: number, sha256: string, objectVersionId: string | null): Manifest {
  return {
    version: 1,
    target: 'app-pg',
    engine: 'postgres',
    key,
    weekday: 'monday',
    size,
    sha256,
    toolVersion: 'pg_dump (PostgreSQL) 15.8',
    runId: 'run-object-lock',
    sourceTask: 'task/abc',
    startedAt: '2026-11-02T00:00:00Z',
    dumpEndedAt: '2026-11-02T00:00:05Z',
    uploadedAt: '2026-11-02T00:00:09Z',
    checks: [{ name: 'pg_restore --list', status: 0 }],
    counts: { tables: { 'public.orders': 2 } },
    objectVersionId,
  };
}

describe('uploads into an Object-Locked bucket', () => {
  it('refuses a plain PutObject without a checksum (so the test below can fail)', async () => {
    // The SDK's default (WHEN_SUPPORTED) adds a CRC32; WHEN_REQUIRED sends none for PutObject.
    const bare = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    try {
      await expect(bare.send(new PutObjectCommand({ Bucket: LOCKED, Key: `${PREFIX}bare.txt`, Body: 'x' }))).rejects.toThrow(/Content-MD5/);
    } finally {
      bare.destroy();
    }
  });

  it('uploads a dump in parts and its manifest (PutObject with the SDK checksum), the manifest locked for the default period', async () => {
    const dir = tempDir('object-lock-upload');
    const file = join(dir, 'dump.pgdump');
    writeFileSync(file, Buffer.alloc(11 * MiB, 7));
    const key = backupKey(PREFIX, 'app-pg', 'monday', 'pgdump');

    const result = await uploadFileResumable({ s3: moto.client, bucket: LOCKED, key, filePath: file, progressPath: join(dir, 'upload.json'), partSizeBytes: 5 * MiB });
    expect(result).toMatchObject({ status: 'complete', size: 11 * MiB, parts: 3 });
    if (result.status !== 'complete') throw new Error('not complete');
    const manifest = manifestOf(key, result.size, result.sha256, result.versionId);
    await putManifest(moto.client, LOCKED, PREFIX, manifest);

    expect(await readManifest(moto.client, LOCKED, manifestKey(PREFIX, 'app-pg', 'monday'))).toEqual(manifest);
    const dump = await moto.client.send(new HeadObjectCommand({ Bucket: LOCKED, Key: key, VersionId: result.versionId ?? undefined }));
    expect(dump.ContentLength).toBe(11 * MiB);
    // moto gaps: GetObjectRetention answers with an empty body (HeadObject carries the same lock fields), and
    // CompleteMultipartUpload does not apply the bucket's default retention as S3 does; so the lock is read on the manifest.
    const head = await moto.client.send(new HeadObjectCommand({ Bucket: LOCKED, Key: manifestKey(PREFIX, 'app-pg', 'monday') }));
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    const days = (head.ObjectLockRetainUntilDate!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(13.9);
    expect(days).toBeLessThanOrEqual(14);
  });

  it('refuses to delete a locked version, and a plain delete leaves it in place behind a delete marker', async () => {
    const key = `${PREFIX}app-pg/tuesday.json`;
    await putManifest(moto.client, LOCKED, PREFIX, { ...manifestOf(`${PREFIX}app-pg/tuesday.pgdump`, 1, 'a'.repeat(64), null), weekday: 'tuesday' });
    const versions = await moto.client.send(new ListObjectVersionsCommand({ Bucket: LOCKED, Prefix: key }));
    const versionId = versions.Versions?.[0]?.VersionId;
    expect(versionId).toBeDefined();

    await expect(moto.client.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: key, VersionId: versionId }))).rejects.toThrow(/Access Denied|AccessDenied/);
    await moto.client.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: key }));

    const after = await moto.client.send(new ListObjectVersionsCommand({ Bucket: LOCKED, Prefix: key }));
    expect(after.Versions?.map((v) => v.VersionId)).toEqual([versionId]);
    expect(after.DeleteMarkers).toHaveLength(1);
  });
});
