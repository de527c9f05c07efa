import { GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { markerFailure } from '../../functions/orchestrator/restore/restore-finish.js';
import { resolveSource } from '../../functions/orchestrator/restore/restore-source.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import type { Manifest } from '../../functions/shared/core/manifest.js';
import type { Marker } from '../../functions/shared/core/marker.js';

const s3Mock = mockClient(S3Client);
const deps = { s3: new S3Client({ region: 'eu-west-1' }), env: { bucket: 'b', keyPrefix: 'p/' } } as unknown as Deps;
const target = targetSchema.parse({ name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' });

function manifest(o: Partial<Manifest>): Manifest {
  return {
    version: 1, target: 'pg', engine: 'postgres', key: 'p/pg/monday.pgdump', weekday: 'monday', size: 10, sha256: 'a'.repeat(64), toolVersion: 't',
    runId: 'r1', sourceTask: 'task', startedAt: '2026-11-16T00:00:00.000Z', dumpEndedAt: '2026-11-16T00:01:00.000Z', uploadedAt: '2026-11-16T00:02:00.000Z',
    checks: [], counts: { tables: { 'public.t': 3 } }, objectVersionId: 'v2', ...o,
  };
}

// readManifest only calls transformToString on the body.
const body = (m: Manifest) => ({ Body: { transformToString: async () => JSON.stringify(m) } as never });

beforeEach(() => s3Mock.reset());

describe('resolveSource', () => {
  it('pins a weekday to the version its current manifest names', async () => {
    s3Mock.on(GetObjectCommand, { Key: 'p/pg/monday.json' }).resolves(body(manifest({})));
    expect(await resolveSource(deps, target, 'monday')).toEqual({
      key: 'p/pg/monday.pgdump', versionId: 'v2', weekday: 'monday', size: 10, sha256: 'a'.repeat(64), backupRunId: 'r1',
      uploadedAt: '2026-11-16T00:02:00.000Z', counts: { tables: { 'public.t': 3 } },
    });
  });

  it('finds the manifest version written with an older object version', async () => {
    s3Mock.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: 'p/pg/monday.pgdump', VersionId: 'v2', IsLatest: true, Size: 10, LastModified: new Date('2026-11-16T00:02:00Z') },
        { Key: 'p/pg/monday.pgdump', VersionId: 'v1', IsLatest: false, Size: 9, LastModified: new Date('2026-11-09T00:02:00Z') },
        { Key: 'p/pg/monday.json', VersionId: 'm2', IsLatest: true, Size: 1, LastModified: new Date('2026-11-16T00:02:01Z') },
        { Key: 'p/pg/monday.json', VersionId: 'm1', IsLatest: false, Size: 1, LastModified: new Date('2026-11-09T00:02:01Z') },
      ],
    });
    s3Mock.on(GetObjectCommand, { Key: 'p/pg/monday.json', VersionId: 'm2' }).resolves(body(manifest({})));
    s3Mock.on(GetObjectCommand, { Key: 'p/pg/monday.json', VersionId: 'm1' }).resolves(body(manifest({ objectVersionId: 'v1', size: 9, sha256: 'b'.repeat(64), runId: 'r0' })));
    expect(await resolveSource(deps, target, { versionId: 'v1' })).toMatchObject({ versionId: 'v1', size: 9, sha256: 'b'.repeat(64), backupRunId: 'r0' });
  });

  it.each([
    ['a weekday without a backup', 'tuesday' as const, /has no tuesday backup \(s3:\/\/b\/p\/pg\/tuesday\.json does not exist\)/],
    ['an unknown version id', { versionId: 'nope' }, /has no backup object with version id nope/],
    ['a version whose manifest is gone', { versionId: 'v1' }, /no manifest version names object p\/pg\/monday\.pgdump version v1, so its checksum cannot be verified/],
    ['latest without any backup', 'latest' as const, /target "pg" has no backup in s3:\/\/b\/p\/pg\/ yet/],
  ])('refuses %s', async (_case, selector, message) => {
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' }));
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [] });
    s3Mock.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'p/pg/monday.pgdump', VersionId: 'v1', IsLatest: true, Size: 9, LastModified: new Date() }] });
    await expect(resolveSource(deps, target, selector)).rejects.toThrow(message);
  });

  it('refuses a manifest of another engine', async () => {
    s3Mock.on(GetObjectCommand).resolves(body(manifest({ engine: 'mariadb', key: 'p/pg/monday.sql.gz' })));
    await expect(resolveSource(deps, target, 'monday')).rejects.toThrow(/describes a mariadb backup of "pg", not this postgres target/);
  });
});

describe('markerFailure', () => {
  const marker = (o: Partial<Marker>): Marker => ({
    runId: 'r', kind: 'restore', engine: 'postgres', toolVersion: 't', steps: [{ name: 'check', status: 0 }], ok: true, file: null, bytes: null, sha256: null,
    startedAt: 's', endedAt: 'e', stderrTail: '', counts: null, ...o,
  });

  it.each([
    ['no failure', marker({}), null],
    ['a failed step', marker({ ok: false, steps: [{ name: 'check', status: 0 }, { name: 'restore', status: 1 }] }), 'step "restore" exited with status 1'],
    [
      'a failed step with an error in the log',
      marker({
        ok: false,
        steps: [{ name: 'prepare', status: 1 }],
        stderrTail: '2026 step prepare: start\n2026 error: database app already holds 3 relations; restore with overwrite\n2026 step prepare: exit status 1',
      }),
      'step "prepare" exited with status 1: 2026 error: database app already holds 3 relations; restore with overwrite',
    ],
    ['a marker saying it failed', marker({ ok: false }), 'the job reports a failure'],
  ])('reads %s', (_case, m, reason) => {
    expect(markerFailure(m)).toBe(reason);
  });
});
