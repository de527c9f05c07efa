import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MONGO_ARCHIVE_JS } from '../../functions/shared/core/scripts/engines/mongodb-archive.js';
import { bson, buildArchive, crc64, type FakeNamespace } from '../helpers/fake-mongo/archive.mjs';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * The mongodb jobs' archive reader, run under node (as mongosh runs it: a required Node.js file) on archives in
 * mongodump's format (test/helpers/fake-mongo/archive.mjs writes them, with a bit-by-bit CRC-64 of its own).
 */

function read(archive: Buffer): { status: number | null; counts: unknown; stderr: string } {
  const dir = tempDir('archive-reader');
  writeFileSync(join(dir, 'reader.js'), MONGO_ARCHIVE_JS);
  writeFileSync(join(dir, 'archive'), archive);
  const out = join(dir, 'counts.json');
  const r = spawnSync('node', ['-e', 'require(process.env.MG_READER)'], {
    env: { PATH: process.env.PATH, MG_READER: join(dir, 'reader.js'), MG_ARCHIVE: join(dir, 'archive'), MG_COUNTS_OUT: out },
    encoding: 'utf8',
  });
  return { status: r.status, counts: r.status === 0 ? JSON.parse(readFileSync(out, 'utf8')) : null, stderr: r.stderr };
}

const NAMESPACES: FakeNamespace[] = [
  { db: 'app', collection: 'users', docs: 3 },
  { db: 'app', collection: 'orders ✓ "q"', docs: 5 },
  { db: 'app', collection: 'empty', docs: 0 },
  { db: 'app', collection: 'active', docs: 0, type: 'view' },
  { db: 'app', collection: 'metrics', docs: 4, type: 'timeseries' },
  { db: 'app', collection: 'tab\there', docs: 1 },
];

describe('the mongodb archive reader', () => {
  it.each([1, 2, 1000])('counts every namespace of an archive whose segments hold %i documents, views aside', (segment) => {
    const r = read(buildArchive(NAMESPACES, { segment }));

    expect(r.stderr).toMatch(/read the whole archive: \d+ bytes, 6 namespaces, 13 documents/);
    expect(r.counts).toEqual({
      collections: { 'app.users': 3, 'app.orders ✓ "q"': 5, 'app.empty': 0, 'app.system.buckets.metrics': 4, 'app.tab?here': 1 },
    });
  });

  it('reads documents across its read chunks', () => {
    expect(read(buildArchive([{ db: 'big', collection: 'c', docs: 40_000 }], { segment: 333 })).counts).toEqual({ collections: { 'big.c': 40_000 } });
  });

  it.each([
    ['a changed document', buildArchive(NAMESPACES, { corrupt: 'crc' }), /CRC mismatch for app\.users: its documents are not what mongodump wrote/],
    ['a cut inside a document', buildArchive(NAMESPACES).subarray(0, 400), /the archive is truncated: it ends inside/],
    ['a cut before a namespace ended', cutBeforeLastEof(), /the archive is truncated: it ends before app\.users ended/],
    ['a prelude collection that never appears', withoutBody(), /the archive is truncated: app\.users, in its prelude, never ended/],
    ['no magic number', Buffer.from('not an archive at all'), /not a mongodump archive: the magic number is missing/],
    ['a bad length', Buffer.concat([buildArchive([]), Buffer.from([0x03, 0, 0, 0])]), /corrupt archive: 3 is neither a BSON length nor a terminator/],
  ])('fails on %s', (_case, archive, error) => {
    const r = read(archive);

    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(error);
  });

  it('computes CRC-64 as Go does (the helper agrees with the standard check value)', () => {
    expect(crc64(Buffer.from('123456789')).toString(16)).toBe('995dc9bbdf1939fa');
  });
});

/** An archive of app.users whose EOF header (and terminator) is missing: the namespace never ends. */
function cutBeforeLastEof(): Buffer {
  const whole = buildArchive([{ db: 'app', collection: 'users', docs: 2 }], { segment: 1 });
  const eof = bson([['db', 'app'], ['collection', 'users'], ['EOF', true], ['CRC', 0n]]);
  return whole.subarray(0, whole.length - eof.length - 4);
}

/** The prelude of app.users, without any namespace block. */
function withoutBody(): Buffer {
  const whole = buildArchive([{ db: 'app', collection: 'users', docs: 0 }]);
  const header = bson([['db', 'app'], ['collection', 'users'], ['EOF', false], ['CRC', 0n]]);
  return whole.subarray(0, whole.indexOf(header));
}
