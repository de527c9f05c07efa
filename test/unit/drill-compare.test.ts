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
    expect(verdict).toEqual({ ok, problems, warnings: [], details: expect.any(Array), compared });
  });

  it('passes with a warning when the manifest recorded no counts', () => {
    expect(compareCounts(null, { keys: 3 })).toEqual({
      ok: true,
      problems: [],
      warnings: ['the manifest records no counts (written by an older version): only the restore itself was checked'],
      details: [],
      compared: 0,
    });
  });

  it('lists at most 20 problems and says how many more there are', () => {
    const expected = { tables: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`t${String(i).padStart(2, '0')}`, 1])) };
    const verdict = compareCounts(expected, { tables: {} });
    expect(verdict.problems).toHaveLength(21);
    expect(verdict.problems.at(-1)).toBe('… and 5 more');
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
