import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifest, serializeManifest, validateManifest, type Manifest } from '../../functions/shared/core/manifest.js';

const good: Manifest = {
  version: 1,
  target: 'orders-db',
  engine: 'postgres',
  key: 'ecs-db-backup/orders-db/monday.pgdump',
  weekday: 'monday',
  size: 1234,
  sha256: 'a'.repeat(64),
  toolVersion: 'pg_dump (PostgreSQL) 15.8',
  runId: '20261123T000012Z-4f2a',
  sourceTask: 'arn:aws:ecs:eu-west-1:123456789012:task/main/abc',
  startedAt: '2026-11-23T00:00:12Z',
  dumpEndedAt: '2026-11-23T00:00:40.123Z',
  uploadedAt: '2026-11-23T00:01:02+00:00',
  checks: [
    { name: 'pg_dump', status: 0 },
    { name: 'pg_restore --list', status: 0 },
  ],
  counts: { tables: { 'public.orders': 10 }, keys: undefined },
  objectVersionId: null,
};

describe('parseManifest', () => {
  it('reads back what serializeManifest writes', () => {
    const text = serializeManifest(good);

    expect(text.endsWith('\n')).toBe(true);
    expect(parseManifest(text)).toEqual({ ...good, counts: { tables: { 'public.orders': 10 } } });
  });

  it('drops fields a newer writer added', () => {
    expect(parseManifest(JSON.stringify({ ...good, compression: 'zstd' }))).not.toHaveProperty('compression');
  });

  it.each([
    { field: 'version', value: 2, problem: 'version: Invalid input: expected 1' },
    { field: 'engine', value: 'oracle', problem: 'engine: Invalid option: expected one of "postgres"|"redis"|"mysql"|"mariadb"|"mongodb"' },
    { field: 'weekday', value: 'Monday', problem: 'weekday: Invalid option: expected one of' },
    { field: 'size', value: 0, problem: 'size: must be a positive byte count (an empty dump is never valid)' },
    { field: 'sha256', value: 'ABC', problem: 'sha256: must be 64 lowercase hex digits' },
    { field: 'uploadedAt', value: 'yesterday', problem: 'uploadedAt: must be an ISO 8601 date-time' },
    { field: 'checks', value: [{ name: 'x', status: 'ok' }], problem: 'checks.0.status: Invalid input: expected number' },
    { field: 'counts', value: { keys: -1 }, problem: 'counts.keys: Too small' },
    { field: 'objectVersionId', value: undefined, problem: 'objectVersionId: Invalid input' },
  ])('names $field when it is wrong', ({ field, value, problem }) => {
    const text = JSON.stringify({ ...good, [field]: value });

    expect(() => parseManifest(text)).toThrow(ManifestError);
    expect(() => parseManifest(text)).toThrow(problem);
  });

  it('lists every bad field', () => {
    try {
      validateManifest({ ...good, size: -1, runId: '' });
      expect.unreachable();
    } catch (error) {
      expect((error as ManifestError).problems.map((p) => p.split(':')[0])).toEqual(['size', 'runId']);
    }
  });

  it('says when the text is not JSON', () => {
    expect(() => parseManifest('{"version":')).toThrow(/^manifest is not JSON \(.*\); rewrite it or ignore that backup$/);
  });
});
