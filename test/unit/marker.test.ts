import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extensionFor, MAX_MARKER_BYTES, MarkerError, parseChunkList, parseMarker, type ChunkListEntry, type Marker } from '../../functions/shared/core/marker.js';
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

describe('parseChunkList', () => {
  const hashes = ['1'.repeat(64), '2'.repeat(64), '3'.repeat(64)];
  const text = Buffer.from(hashes.map((h) => `${h}\n`).join(''));
  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  const entry: ChunkListEntry = { file: 'dump.pgdump.chunks', chunkBytes: 100, count: 3, sha256: sha(text) };

  it('returns the sha256 of each chunk of a list that fits its marker entry and the dump', () => {
    expect(parseChunkList(text, entry, 201)).toEqual(hashes);
  });

  it.each([
    { name: 'a dump of another size', data: text, e: entry, bytes: 301, message: "the marker's chunk list has 3 chunks but a 301-byte dump has 4 of 100 bytes" },
    { name: 'a list of another length', data: text.subarray(0, 130), e: { ...entry, sha256: sha(text.subarray(0, 130)) }, bytes: 201, message: 'chunk list dump.pgdump.chunks is 130 bytes but 3 sha256 lines are 195' },
    { name: 'another sha256', data: text, e: { ...entry, sha256: 'f'.repeat(64) }, bytes: 201, message: `chunk list dump.pgdump.chunks has sha256 ${sha(text)} but the marker says ${'f'.repeat(64)}` },
    { name: 'a line that is no sha256', data: Buffer.from(text.toString().replace('2'.repeat(64), 'Z'.repeat(64))), e: undefined, bytes: 201, message: 'line 2 of chunk list dump.pgdump.chunks is not a lowercase hex sha256' },
  ])('refuses $name', ({ data, e, bytes, message }) => {
    expect(() => parseChunkList(data, e ?? { ...entry, sha256: sha(data) }, bytes)).toThrow(new MarkerError(message));
  });

  it('accepts a marker without a chunk list (earlier jobs) and refuses a list name with a path', () => {
    expect(parseMarker(gz(good)).chunks).toBeUndefined();
    expect(() => parseMarker(gz({ ...good, chunks: { ...entry, file: '../other/dump.chunks' } }))).toThrow(/chunks\.file: must be a plain file name in the run directory/);
  });
});
