import {
  DeleteObjectCommand,
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

async function putDump(target: string, weekday: Weekday, lastModified: string, uploadedAt: string | null, body = 'REDIS') {
  const key = backupKey(PREFIX, target, weekday, 'rdb');
  const put = await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.from(body) }));
  await s3.setLastModified(key, new Date(lastModified));
  const objectVersionId = put.VersionId ?? null;
  if (uploadedAt) await putManifest(s3.client, s3.bucket, PREFIX, manifest(target, weekday, uploadedAt, { objectVersionId, runId: `run-${body}` }));
  return objectVersionId;
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
    await putDump('app', 'monday', '2026-11-16T00:02:00Z', '2026-11-16T00:02:00Z', 'run-monday');
    await putDump('app', 'wednesday', '2026-11-18T00:02:00Z', '2026-11-18T00:02:00Z', 'run-wednesday');
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
        ['wednesday', `${PREFIX}app/wednesday.rdb`, `${PREFIX}app/wednesday.json`, 13, '2026-11-18T00:02:00.000Z', 'run-run-wednesday'],
        ['monday', `${PREFIX}app/monday.rdb`, `${PREFIX}app/monday.json`, 10, '2026-11-16T00:02:00.000Z', 'run-run-monday'],
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
    const old = await putDump('weekly', 'monday', '2026-11-16T00:02:00Z', '2026-11-16T00:02:00Z', 'old');
    const current = await putDump('weekly', 'monday', '2026-11-23T00:02:00Z', '2026-11-23T00:02:00Z', 'new!');

    const listing = await listBackups(s3.client, s3.bucket, PREFIX, 'weekly', { includeVersions: true });

    expect(listing.map((l) => [l.versionId, l.isLatest, l.size, l.lastModified.toISOString(), l.manifest?.runId])).toEqual([
      [current, true, 4, '2026-11-23T00:02:00.000Z', 'run-new!'],
      [old, false, 3, '2026-11-16T00:02:00.000Z', 'run-old'],
    ]);
    expect((await listBackups(s3.client, s3.bucket, PREFIX, 'weekly')).map((l) => l.manifest?.runId)).toEqual(['run-new!']);
  });

  it('gives null for a target without backups', async () => {
    expect(await lastSuccessfulBackup(s3.client, s3.bucket, PREFIX, 'never')).toBeNull();
    expect(await listBackups(s3.client, s3.bucket, PREFIX, 'never')).toEqual([]);
  });
});

describe('the s3rver helper emulates a versioned bucket', () => {
  const key = 'emulation/monday.rdb';
  const get = async (versionId?: string) => {
    try {
      const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key, VersionId: versionId }));
      return await res.Body!.transformToString();
    } catch (error) {
      return (error as Error).name;
    }
  };
  const listed = () => s3.client.send(new ListObjectVersionsCommand({ Bucket: s3.bucket, Prefix: key }));

  it('keeps replaced versions, hides the key behind a delete marker, and brings it back when the marker is removed', async () => {
    const put = (body: string) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body })).then((r) => r.VersionId!);
    const v1 = await put('one');
    const v2 = await put('two');
    expect([await get(), await get(v1), await get(v2), await get('nope')]).toEqual(['two', 'one', 'two', 'NoSuchVersion']);

    const marker = (await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }))).VersionId!;
    expect([await get(), await get(v2)]).toEqual(['NoSuchKey', 'two']);
    const withMarker = await listed();
    expect(withMarker.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest])).toEqual([[marker, true]]);
    expect(withMarker.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([[v2, false], [v1, false]]);

    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key, VersionId: marker }));
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key, VersionId: v1 }));
    expect([await get(), await get(v1)]).toEqual(['two', 'NoSuchVersion']);
    expect((await listed()).Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([[v2, true]]);
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
