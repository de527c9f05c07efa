import { describe, expect, it } from 'vitest';
import { compareCounts } from '../../functions/orchestrator/drill/drill-compare.js';
import { drillDue, scratchDatabaseOf } from '../../functions/orchestrator/drill/drill-workflow.js';
import { targetSchema } from '../../functions/shared/config/schema.js';

describe('compareCounts', () => {
  it.each([
    ['equal tables', { tables: { 'public.a': 3, 'public.b': 0 } }, { tables: { 'public.b': 0, 'public.a': 3 } }, true, [], 2],
    ['equal keys', { keys: 10 }, { keys: 10 }, true, [], 1],
    ['a row count differs', { tables: { 'public.a': 3 } }, { tables: { 'public.a': 2 } }, false, ['table public.a: 3 rows at dump time, 2 restored'], 1],
    ['a table is missing', { tables: { 'public.a': 3, 's."T ✓"': 1 } }, { tables: { 'public.a': 3 } }, false, ['table s."T ✓" (1 rows at dump time) is missing from the restore'], 2],
    ['an extra table is restored', { tables: {} }, { tables: { 'public.x': 1 } }, false, ['table public.x was restored but is not in the dump\'s counts'], 0],
    ['the key count differs', { keys: 10 }, { keys: 9 }, false, ['10 keys at dump time, 9 restored'], 1],
    ['the restore reports no counts', { keys: 10 }, null, false, ['the restore reported no key count; the dump had 10 keys'], 1],
    ['the restore reports no tables', { tables: { a: 1 } }, { keys: 1 }, false, ['the restore reported no table counts; the dump had 1 tables'], 0],
    ['a table named constructor is missing', { tables: { constructor: 1 } }, { tables: {} }, false, ['table constructor (1 rows at dump time) is missing from the restore'], 1],
    ['an extra table named toString is restored', { tables: {} }, { tables: { toString: 1 } }, false, ["table toString was restored but is not in the dump's counts"], 0],
  ] as const)('judges %s', (_case, expected, restored, ok, problems, compared) => {
    const verdict = compareCounts(expected, restored);
    expect(verdict).toMatchObject({ ok, problems, details: expect.any(Array), compared, checked: [] });
  });

  it('passes with a warning when the manifest recorded no counts', () => {
    expect(compareCounts(null, { keys: 3 })).toEqual({
      ok: true,
      problems: [],
      warnings: ['the manifest records no counts (written by an older version): only the restore itself was checked'],
      details: [],
      compared: 0,
      checked: [],
    });
  });

  it('lists at most 20 problems and says how many more there are', () => {
    const expected = { tables: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`t${String(i).padStart(2, '0')}`, 1])) };
    const verdict = compareCounts(expected, { tables: {} });
    expect(verdict.problems).toHaveLength(21);
    expect(verdict.problems.at(-1)).toBe('… and 5 more');
  });
});

describe('compareCounts on content', () => {
  const [d1, d2, d3] = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32)];
  const content = (digest: string, extra: Record<string, unknown> = {}) => ({ tables: { 'public.a': 2 }, digests: { 'public.a': digest }, ...extra });

  it('passes when restored = archive = dump time, and says what it compared', () => {
    const dump = content(d1, { sequences: { 'public.s': '5,true' }, largeObjects: { count: 2, digest: d2 } });
    const verdict = compareCounts(dump, { ...dump, archive: dump });
    expect(verdict).toEqual({
      ok: true, problems: [], warnings: [], details: [], compared: 1,
      checked: ['row digests of 1 tables', '1 sequences', '2 large objects', 'restored = archive = dump time'],
    });
  });

  it.each([
    ['the restore changed a row', content(d1), { ...content(d2), archive: content(d1) }, [`table public.a: restored rows with md5 222222222222…, the archive holds rows with md5 111111111111…`]],
    ['the archive is not what was dumped (a tampered archive with a re-signed manifest)', content(d1), { ...content(d2), archive: content(d2) }, [`table public.a: the archive holds rows with md5 222222222222…, the dump recorded rows with md5 111111111111…`]],
    ['a sequence came back at another value', content(d1, { sequences: { 'public."s q"': '5,true' } }), { ...content(d1, { sequences: { 'public."s q"': '4,true' } }), archive: content(d1, { sequences: { 'public."s q"': '5,true' } }) }, ['sequence public."s q": restored value 4,true, the archive holds value 5,true']],
    ['a large object differs', content(d1, { largeObjects: { count: 1, digest: d3 } }), { ...content(d1, { largeObjects: { count: 1, digest: d2 } }), archive: content(d1, { largeObjects: { count: 1, digest: d3 } }) }, ['large objects: restored 1 objects with md5 222222222222…, the archive holds 1 objects with md5 333333333333…']],
    ['the database came back in another charset', content(d1, { database: { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' } }), { ...content(d1, { database: { charset: 'latin1', collation: 'latin1_swedish_ci' } }), archive: content(d1) }, ['database charset/collation: restored latin1/latin1_swedish_ci, the dump recorded utf8mb4/utf8mb4_unicode_ci']],
  ])('fails when %s, naming it', (_case, expected, restored, problems) => {
    expect(compareCounts(expected, restored)).toMatchObject({ ok: false, problems });
  });

  it('compares restored with the archive when the manifest has no digests (older backups)', () => {
    const verdict = compareCounts({ tables: { 'public.a': 2 } }, { ...content(d1), archive: content(d2) });
    expect(verdict).toMatchObject({ ok: false, problems: [`table public.a: restored rows with md5 111111111111…, the archive holds rows with md5 222222222222…`] });
    expect(compareCounts({ tables: { 'public.a': 2 } }, { ...content(d1), archive: content(d1) }).checked).toEqual(['row digests of 1 tables', 'restored = archive (the manifest has no digests)']);
  });

  it('warns when no digests were read, and about FLOAT columns', () => {
    expect(compareCounts({ tables: { a: 1 }, floatColumns: ['a.f'] }, { tables: { a: 1 } }).warnings).toEqual([
      'FLOAT columns keep about 6 significant digits through the dump tool: a.f',
      'no row digests were read (a backup or a job without md5sum): rows were counted only',
    ]);
  });
});

const base = { name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' };

describe('scratchDatabaseOf', () => {
  it.each([
    ['the default <database>_drill', {}, 'app_drill'],
    ['the configured name', { drill: { schedule: '0 3 * * 0', scratchDatabase: 'scratch' } }, 'scratch'],
  ])('uses %s', (_case, extra, name) => {
    expect(scratchDatabaseOf(targetSchema.parse({ ...base, ...extra }))).toBe(name);
  });
});

describe('drillDue', () => {
  const target = targetSchema.parse({ ...base, drill: { schedule: '30 3 * * 0', timeZone: 'Europe/Berlin' } });
  // Sunday 2026-11-22 03:30 in Berlin is 02:30 UTC.
  const slot = new Date('2026-11-22T02:30:00Z');

  it.each([
    ['due without an earlier drill', new Date('2026-11-22T05:00:00Z'), null, { due: true, slot }],
    ['due when the last drill started before the latest slot', new Date('2026-11-22T05:00:00Z'), '2026-11-15T02:31:00Z', { due: true, slot }],
    ['not due when the last drill started after the latest slot', new Date('2026-11-22T05:00:00Z'), '2026-11-22T02:31:00Z', { due: false, reason: 'done', slot }],
    ['not due before the slot of the week', new Date('2026-11-22T02:00:00Z'), '2026-11-15T02:31:00Z', { due: false, reason: 'done', slot: new Date('2026-11-15T02:30:00Z') }],
  ])('is %s', (_case, now, lastStarted, due) => {
    expect(drillDue(target, now, lastStarted === null ? null : { startedAt: lastStarted })).toEqual(due);
  });

  it('is null for a target without drills', () => {
    expect(drillDue(targetSchema.parse(base), new Date(), null)).toBeNull();
  });
});
