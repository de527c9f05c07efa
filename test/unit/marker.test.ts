import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extensionFor, MAX_MARKER_BYTES, MarkerError, parseMarker, type Marker } from '../../functions/shared/core/marker.js';
import { BackupError } from '../../functions/shared/errors.js';

const good: Marker = {
  runId: 'run-1',
  kind: 'backup',
  engine: 'postgres',
  toolVersion: 'pg_dump (PostgreSQL) 15.18',
  steps: [
    { name: 'dump', status: 0 },
    { name: 'check', status: 0 },
  ],
  ok: true,
  file: 'dump.pgdump',
  bytes: 1234,
  sha256: 'a'.repeat(64),
  startedAt: '2026-01-01T00:00:00Z',
  endedAt: '2026-01-01T00:01:00Z',
  stderrTail: 'line "one"\nback\\slash',
  counts: { tables: { 'public.t': 3 } },
};

const gz = (value: unknown) => gzipSync(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

describe('parseMarker', () => {
  it('parses a good marker unchanged', () => {
    expect(parseMarker(gz(good))).toEqual(good);
  });

  it.each([
    { case: 'a step with a non-zero status', marker: { ...good, steps: [{ name: 'dump', status: 0 }, { name: 'check', status: 1 }] } },
    { case: 'no steps at all', marker: { ...good, steps: [] } },
  ])('treats ok=true with $case as failed', ({ marker }) => {
    expect(parseMarker(gz(marker)).ok).toBe(false);
  });

  it('keeps ok=false and the note of a failed restore', () => {
    const failed = { ...good, kind: 'restore', ok: false, file: null, bytes: null, sha256: null, counts: null, note: 'restart Redis' };

    expect(parseMarker(gz(failed))).toMatchObject({ ok: false, note: 'restart Redis', file: null });
  });

  it.each([
    { case: 'not gzip', input: Buffer.from('{"runId":"x"}'), message: /not valid gzip/ },
    { case: 'truncated gzip', input: gz(good).subarray(0, 20), message: /not valid gzip/ },
    { case: 'not JSON', input: gz('{"runId": '), message: /does not hold valid JSON/ },
    { case: 'more than MAX_MARKER_BYTES unpacked', input: gz(' '.repeat(MAX_MARKER_BYTES + 1)), message: /unpacks to more than 16777216 bytes/ },
    { case: 'an unknown engine', input: gz({ ...good, engine: 'oracle' }), message: /engine/ },
    { case: 'a bad sha256', input: gz({ ...good, sha256: 'xyz' }), message: /sha256/ },
    { case: 'a missing field', input: gz({ ...good, steps: undefined }), message: /steps/ },
    { case: 'a negative byte count', input: gz({ ...good, bytes: -1 }), message: /bytes/ },
  ])('throws a MarkerError given $case', ({ input, message }) => {
    expect(() => parseMarker(input)).toThrow(MarkerError);
    expect(() => parseMarker(input)).toThrow(message);
    expect(() => parseMarker(input)).toThrow(BackupError);
  });
});

describe('extensionFor', () => {
  it.each([
    ['postgres', 'pgdump'],
    ['redis', 'rdb'],
    ['mysql', 'sql.gz'],
    ['mariadb', 'sql.gz'],
    ['mongodb', 'archive.gz'],
  ] as const)('gives %s dumps the extension %s', (engine, ext) => {
    expect(extensionFor(engine)).toBe(ext);
  });
});
