import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
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
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

const PREFIX = 'ecs-db-backup/';
let s3: S3rverHandle;

beforeAll(async () => {
  s3 = await startS3rver();
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

async function putDump(target: string, weekday: Weekday, lastModified: string, uploadedAt: string | null) {
  const key = backupKey(PREFIX, target, weekday, 'rdb');
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.from('REDIS') }));
  await s3.setLastModified(key, new Date(lastModified));
  if (uploadedAt) await putManifest(s3.client, s3.bucket, PREFIX, manifest(target, weekday, uploadedAt));
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
  beforeAll(async () => {
    await putDump('app', 'monday', '2026-11-16T00:02:00Z', '2026-11-16T00:02:00Z');
    await putDump('app', 'wednesday', '2026-11-18T00:02:00Z', '2026-11-18T00:02:00Z');
    await putDump('app', 'friday', '2026-11-20T00:02:00Z', null);
    await putDump('app2', 'sunday', '2026-11-22T00:02:00Z', '2026-11-22T00:02:00Z');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}app/runs/r1/done.gz`, Body: 'x' }));
  });

  it.each([{ includeVersions: false }, { includeVersions: true }])(
    'lists the dumps of one target newest first with their manifests (includeVersions $includeVersions)',
    async ({ includeVersions }) => {
      const listing = await listBackups(s3.client, s3.bucket, PREFIX, 'app', { includeVersions });

      expect(listing.map((l) => [l.weekday, l.key, l.manifestKey, l.size, l.lastModified.toISOString(), l.manifest?.runId ?? null])).toEqual([
        ['friday', `${PREFIX}app/friday.rdb`, `${PREFIX}app/friday.json`, 5, '2026-11-20T00:02:00.000Z', null],
        ['wednesday', `${PREFIX}app/wednesday.rdb`, `${PREFIX}app/wednesday.json`, 5, '2026-11-18T00:02:00.000Z', 'run-wednesday'],
        ['monday', `${PREFIX}app/monday.rdb`, `${PREFIX}app/monday.json`, 5, '2026-11-16T00:02:00.000Z', 'run-monday'],
      ]);
      expect(listing.every((l) => l.isLatest && l.versionId === null)).toBe(true);
    },
  );

  it('picks the manifest uploaded last, not the last weekday or the newest object', async () => {
    await putManifest(s3.client, s3.bucket, PREFIX, manifest('late', 'saturday', '2026-11-21T00:00:00Z'));
    await putManifest(s3.client, s3.bucket, PREFIX, manifest('late', 'monday', '2026-11-23T00:00:00Z'));
    await putManifest(s3.client, s3.bucket, PREFIX, manifest('late', 'sunday', '2026-11-22T00:00:00Z'));

    expect((await lastSuccessfulBackup(s3.client, s3.bucket, PREFIX, 'late'))?.weekday).toBe('monday');
    expect((await lastSuccessfulBackup(s3.client, s3.bucket, PREFIX, 'app'))?.weekday).toBe('wednesday');
  });

  it('gives null for a target without backups', async () => {
    expect(await lastSuccessfulBackup(s3.client, s3.bucket, PREFIX, 'never')).toBeNull();
    expect(await listBackups(s3.client, s3.bucket, PREFIX, 'never')).toEqual([]);
  });
});

describe('with a versioned bucket (mocked S3: s3rver has no versioning)', () => {
  const client = new S3Client({ region: 'us-east-1' });
  const s3Mock = mockClient(client);
  const dump = `${PREFIX}app/monday.rdb`;
  const json = `${PREFIX}app/monday.json`;
  const body = (m: Manifest) => ({ Body: { transformToString: async () => JSON.stringify(m) } as never });

  it('matches each dump version to the manifest version that names it', async () => {
    s3Mock.reset();
    s3Mock.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: dump, VersionId: 'd2', IsLatest: true, Size: 20, LastModified: new Date('2026-11-23T00:01:00Z') },
        { Key: dump, VersionId: 'd1', IsLatest: false, Size: 10, LastModified: new Date('2026-11-16T00:01:00Z') },
        { Key: json, VersionId: 'm2', IsLatest: true, Size: 1, LastModified: new Date('2026-11-23T00:01:01Z') },
        { Key: json, VersionId: 'm1', IsLatest: false, Size: 1, LastModified: new Date('2026-11-16T00:01:01Z') },
      ],
    });
    s3Mock.on(GetObjectCommand, { Key: json, VersionId: 'm2' }).resolves(body(manifest('app', 'monday', '2026-11-23T00:01:01Z', { objectVersionId: 'd2', runId: 'new' })));
    s3Mock.on(GetObjectCommand, { Key: json, VersionId: 'm1' }).resolves(body(manifest('app', 'monday', '2026-11-16T00:01:01Z', { objectVersionId: 'd1', runId: 'old' })));

    const listing = await listBackups(client, 'b', PREFIX, 'app', { includeVersions: true });

    expect(listing.map((l) => [l.versionId, l.isLatest, l.size, l.manifest?.runId])).toEqual([
      ['d2', true, 20, 'new'],
      ['d1', false, 10, 'old'],
    ]);
  });

  it('throws on an S3 error instead of reporting no backup', async () => {
    s3Mock.reset();
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: json, Size: 1 }] });
    s3Mock.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));

    await expect(lastSuccessfulBackup(client, 'b', PREFIX, 'app')).rejects.toThrow(
      new BackupStoreError(`reading manifest s3://b/${json} failed: Access Denied`),
    );
  });
});
