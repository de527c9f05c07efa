import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KeyNamingError,
  WEEKDAYS,
  backupKey,
  manifestKey,
  parseBackupKey,
  runWeekday,
  targetPrefix,
  weekdayOf,
  type Weekday,
} from '../../functions/shared/core/s3-keys.js';

describe('weekdayOf', () => {
  it.each([
    { instant: '2026-11-22T23:30:00Z', timeZone: 'UTC', expected: 'sunday' },
    { instant: '2026-11-22T23:30:00Z', timeZone: 'Europe/Berlin', expected: 'monday' },
    { instant: '2026-11-23T02:00:00Z', timeZone: 'America/Los_Angeles', expected: 'sunday' },
    { instant: '2026-11-22T10:00:00Z', timeZone: 'Pacific/Kiritimati', expected: 'monday' },
    { instant: '2026-03-28T23:30:00Z', timeZone: 'Europe/Berlin', expected: 'sunday' },
    { instant: '2026-03-29T00:30:00Z', timeZone: 'America/New_York', expected: 'saturday' },
  ])('gives $expected for $instant in $timeZone', ({ instant, timeZone, expected }) => {
    expect(weekdayOf(new Date(instant), timeZone)).toBe(expected);
  });

  it('names a bad time zone', () => {
    expect(() => weekdayOf(new Date(0), 'Mars/Olympus')).toThrow(
      new KeyNamingError('invalid time zone "Mars/Olympus": use an IANA name such as "UTC"'),
    );
  });
});

describe('key naming', () => {
  it.each([
    { prefix: '', target: 'app', weekday: 'monday', ext: 'pgdump', key: 'app/monday.pgdump', manifest: 'app/monday.json' },
    {
      prefix: 'ecs-db-backup/',
      target: 'orders-db',
      weekday: 'sunday',
      ext: 'sql.gz',
      key: 'ecs-db-backup/orders-db/sunday.sql.gz',
      manifest: 'ecs-db-backup/orders-db/sunday.json',
    },
    { prefix: 'a/b_c/', target: 'r1', weekday: 'friday', ext: 'archive.gz', key: 'a/b_c/r1/friday.archive.gz', manifest: 'a/b_c/r1/friday.json' },
  ] as const)('names $key and $manifest', ({ prefix, target, weekday, ext, key, manifest }) => {
    expect(backupKey(prefix, target, weekday, ext)).toBe(key);
    expect(manifestKey(prefix, target, weekday)).toBe(manifest);
    expect(targetPrefix(prefix, target)).toBe(`${prefix}${target}/`);
  });

  it.each([
    { name: 'a prefix without a trailing slash', call: () => targetPrefix('backups', 'app'), message: /invalid key prefix "backups"/ },
    { name: 'a prefix with ..', call: () => targetPrefix('../', 'app'), message: /invalid key prefix/ },
    { name: 'an upper-case target', call: () => targetPrefix('', 'App'), message: /invalid target name "App"/ },
    { name: 'a target with a slash', call: () => targetPrefix('', 'a/b'), message: /invalid target name/ },
    { name: 'an extension with a leading dot', call: () => backupKey('', 'app', 'monday', '.rdb'), message: /invalid extension "\.rdb"/ },
    { name: 'the manifest extension', call: () => backupKey('', 'app', 'monday', 'json'), message: /reserved for manifests/ },
    { name: 'an unknown weekday', call: () => manifestKey('', 'app', 'funday' as Weekday), message: /invalid weekday "funday"/ },
  ])('rejects $name', ({ call, message }) => {
    expect(call).toThrow(KeyNamingError);
    expect(call).toThrow(message);
  });
});

describe('parseBackupKey', () => {
  it.each([
    { key: 'p/app/monday.pgdump', expected: { weekday: 'monday', kind: 'dump', ext: 'pgdump' } },
    { key: 'p/app/tuesday.sql.gz', expected: { weekday: 'tuesday', kind: 'dump', ext: 'sql.gz' } },
    { key: 'p/app/sunday.json', expected: { weekday: 'sunday', kind: 'manifest', ext: 'json' } },
    { key: 'p/app/someday.rdb', expected: null },
    { key: 'p/app/monday', expected: null },
    { key: 'p/app/runs/monday.rdb', expected: null },
    { key: 'p/app2/monday.rdb', expected: null },
    { key: 'q/app/monday.rdb', expected: null },
  ])('reads $key', ({ key, expected }) => {
    expect(parseBackupKey('p/', 'app', key)).toEqual(expected);
  });

  it('inverts backupKey and manifestKey for every valid name', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 3 }).map((s) => s.map((x) => `${x}/`).join('')),
        fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/),
        fc.constantFrom(...WEEKDAYS),
        fc.stringMatching(/^[a-z0-9]{1,6}(?:\.[a-z0-9]{1,4})?$/).filter((e) => e !== 'json'),
        (prefix, target, weekday, ext) => {
          expect(parseBackupKey(prefix, target, backupKey(prefix, target, weekday, ext))).toEqual({ weekday, kind: 'dump', ext });
          expect(parseBackupKey(prefix, target, manifestKey(prefix, target, weekday))).toEqual({ weekday, kind: 'manifest', ext: 'json' });
        },
      ),
    );
  });
});

describe('runWeekday', () => {
  it.each([
    { name: "a 23:59 slot started at 00:01 the next day keeps the slot's weekday", slot: '2026-11-24T23:59:00Z', startedAt: '2026-11-25T00:01:00Z', tz: 'UTC', weekday: 'tuesday' },
    { name: 'a slot is read on the wall clock of the time zone', slot: '2026-11-24T23:30:00Z', startedAt: '2026-11-24T23:31:00Z', tz: 'Europe/Berlin', weekday: 'wednesday' },
    { name: 'a manual run (no slot) takes the day it started', slot: null, startedAt: '2026-11-25T00:01:00Z', tz: 'UTC', weekday: 'wednesday' },
  ])('$name', ({ slot, startedAt, tz, weekday }) => {
    expect(runWeekday({ slot, startedAt }, tz)).toBe(weekday);
  });
});
