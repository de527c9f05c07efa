import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupStoreError,
  lastSuccessfulBackup,
  listBackups,
  putManifest,
  readManifest,
} from '../../functions/shared/adapters/s3-backups.js';
import { ManifestError, type Manifest } from '../../functions/shared/core/manifest.js';
import { backupKey, manifestKey, type Weekday } from '../../functions/shared/core/s3-keys.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';

const PREFIX = 'ecs-db-backup/';
let s3: MotoS3;

beforeAll(async () => {
  s3 = await startMotoS3();
});
afterAll(async () => {
  await s3?.stop();
});

function manifest(target: string, weekday: Weekday, uploadedAt: string, extra: Partial<Manifest> = {}): Manifest {
  return {
    version: 1,
    target,
    engine: 'redis',
    key: backupKey(PREFIX, target, weekday, 'rdb'),
    weekday,
    size: 5,
    sha256: '0'.repeat(64),
    toolVersion: 'redis-server 7.0.15',
    runId: `run-${weekday}`,
    sourceTask: 'task/abc',
    startedAt: '2026-11-01T00:00:00Z',
    dumpEndedAt: '2026-11-01T00:00:03Z',
    uploadedAt,
    checks: [{ name: 'redis-check-rdb', status: 0 }],
    counts: { keys: 3 },
    objectVersionId: null,
    ...extra,
  };
}

/**
 * Puts a dump (and its manifest unless `uploadedAt` is null) in the next whole second: moto cannot set an
 * object's LastModified and keeps it to the second, so the objects' order is the order of the puts.
 * Returns its version id and LastModified.
 */
async function putDump(target: string, weekday: Weekday, uploadedAt: string | null, body = 'REDIS') {
  const key = backupKey(PREFIX, target, weekday, 'rdb');
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
  const put = await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.from(body) }));
  const objectVersionId = put.VersionId ?? null;
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key, VersionId: put.VersionId }));
  if (uploadedAt) await putManifest(s3.client, s3.bucket, PREFIX, manifest(target, weekday, uploadedAt, { objectVersionId, runId: `run-${body}` }));
  return { versionId: objectVersionId, lastModified: head.LastModified!.toISOString() };
}

describe('manifests in S3', () => {
  it('reads back the manifest it wrote, at the weekday key', async () => {
    const written = manifest('roundtrip', 'tuesday', '2026-11-03T00:01:00Z');

    await putManifest(s3.client, s3.bucket, PREFIX, written);

    expect(await readManifest(s3.client, s3.bucket, `${PREFIX}roundtrip/tuesday.json`)).toEqual(written);
  });

  it('reads a missing manifest as null', async () => {
    expect(await readManifest(s3.client, s3.bucket, `${PREFIX}nothing/monday.json`)).toBeNull();
  });

  it('rejects an invalid manifest naming the field', async () => {
    const key = manifestKey(PREFIX, 'broken', 'monday');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: JSON.stringify({ ...manifest('broken', 'monday', 'x'), size: 0 }) }));

    await expect(readManifest(s3.client, s3.bucket, key)).rejects.toThrow(ManifestError);
    await expect(readManifest(s3.client, s3.bucket, key)).rejects.toThrow(/size: must be a positive byte count/);
  });

  it('refuses to write an invalid manifest', async () => {
    await expect(putManifest(s3.client, s3.bucket, PREFIX, { ...manifest('bad', 'monday', 'now') })).rejects.toThrow(/uploadedAt/);
  });
});

describe('listBackups and lastSuccessfulBackup', () => {
  const modified: Record<string, string> = {};
  beforeAll(async () => {
    modified.monday = (await putDump('app', 'monday', '2026-11-16T00:02:00Z', 'run-monday')).lastModified;
    modified.wednesday = (await putDump('app', 'wednesday', '2026-11-18T00:02:00Z', 'run-wednesday')).lastModified;
    modified.friday = (await putDump('app', 'friday', null)).lastModified;
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: backupKey(PREFIX, 'app2', 'sunday', 'rdb'), Body: 'REDIS' }));
    await putManifest(s3.client, s3.bucket, PREFIX, manifest('app2', 'sunday', '2026-11-22T00:02:00Z'));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}app/runs/r1/done.gz`, Body: 'x' }));
  });

  it.each([{ includeVersions: false }, { includeVersions: true }])(
    'lists the dumps of one target newest first with their manifests (includeVersions $includeVersions)',
    async ({ includeVersions }) => {
      const listing = await listBackups(s3.client, s3.bucket, PREFIX, 'app', { includeVersions });

      expect(listing.map((l) => [l.weekday, l.key, l.manifestKey, l.size, l.lastModified.toISOString(), l.manifest?.runId ?? null])).toEqual([
        ['friday', `${PREFIX}app/friday.rdb`, `${PREFIX}app/friday.json`, 5, modified.friday, null],
        ['wednesday', `${PREFIX}app/wednesday.rdb`, `${PREFIX}app/wednesday.json`, 13, modified.wednesday, 'run-run-wednesday'],
        ['monday', `${PREFIX}app/monday.rdb`, `${PREFIX}app/monday.json`, 10, modified.monday, 'run-run-monday'],
      ]);
      expect(listing.every((l) => l.isLatest && (l.versionId !== null) === includeVersions)).toBe(true);
    },
  );

  it('picks the manifest uploaded last, not the last weekday or the newest object', async () => {
    await putManifest(s3.client, s3.bucket, PREFIX, manifest('late', 'saturday', '2026-11-21T00:00:00Z'));
    await putManifest(s3.client, s3.bucket, PREFIX, manifest('late', 'monday', '2026-11-23T00:00:00Z'));
    await putManifest(s3.client, s3.bucket, PREFIX, manifest('late', 'sunday', '2026-11-22T00:00:00Z'));

    expect((await lastSuccessfulBackup(s3.client, s3.bucket, PREFIX, 'late'))?.weekday).toBe('monday');
    expect((await lastSuccessfulBackup(s3.client, s3.bucket, PREFIX, 'app'))?.weekday).toBe('wednesday');
  });

  it('lists every kept version with the manifest version that names it', async () => {
    const old = await putDump('weekly', 'monday', '2026-11-16T00:02:00Z', 'old');
    const current = await putDump('weekly', 'monday', '2026-11-23T00:02:00Z', 'new!');

    const listing = await listBackups(s3.client, s3.bucket, PREFIX, 'weekly', { includeVersions: true });

    expect(listing.map((l) => [l.versionId, l.isLatest, l.size, l.lastModified.toISOString(), l.manifest?.runId])).toEqual([
      [current.versionId, true, 4, current.lastModified, 'run-new!'],
      [old.versionId, false, 3, old.lastModified, 'run-old'],
    ]);
    expect((await listBackups(s3.client, s3.bucket, PREFIX, 'weekly')).map((l) => l.manifest?.runId)).toEqual(['run-new!']);
  });

  it('gives null for a target without backups', async () => {
    expect(await lastSuccessfulBackup(s3.client, s3.bucket, PREFIX, 'never')).toBeNull();
    expect(await listBackups(s3.client, s3.bucket, PREFIX, 'never')).toEqual([]);
  });
});

describe('S3 errors (mocked S3)', () => {
  const client = new S3Client({ region: 'us-east-1' });
  const s3Mock = mockClient(client);
  const json = `${PREFIX}app/monday.json`;

  it('throws on an S3 error instead of reporting no backup', async () => {
    s3Mock.reset();
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: json, Size: 1 }] });
    s3Mock.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));

    await expect(lastSuccessfulBackup(client, 'b', PREFIX, 'app')).rejects.toThrow(
      new BackupStoreError(`reading manifest s3://b/${json} failed: Access Denied`),
    );
  });
});
