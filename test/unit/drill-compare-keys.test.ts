import { describe, expect, it } from 'vitest';
import { compareCounts } from '../../functions/orchestrator/drill/drill-compare.js';
import type { Counts } from '../../functions/shared/core/counts.js';

// At dump time: 6 persistent keys (5 in database 0, 1 in 15) and 4 volatile ones (3 in database 0, 1 in 15).
const dumped = {
  keys: 10,
  redis: { persistent: 6, volatile: 4, databases: { 0: { persistent: 5, volatile: 3 }, 15: { persistent: 1, volatile: 1 } }, expiredAtCheck: 0 },
};

/** What a drill loaded: per database, and how many of the file's keys were past their expiry before the load and after the count. */
function loaded(databases: Record<string, [number, number]>, before: number, after: number): Counts {
  const dbs = Object.fromEntries(Object.entries(databases).map(([id, [persistent, volatile]]) => [id, { persistent, volatile }]));
  const persistent = Object.values(databases).reduce((n, [p]) => n + p, 0);
  const volatile = Object.values(databases).reduce((n, [, v]) => n + v, 0);
  return { keys: persistent + volatile, redis: { persistent, volatile, databases: dbs, expiredBeforeLoad: before, expiredAfterCount: after } };
}

describe('compareCounts of Redis keys', () => {
  it.each([
    ['nothing expired', loaded({ 0: [5, 3], 15: [1, 1] }, 0, 0), []],
    ['the volatile keys that expired since the dump are gone', loaded({ 0: [5, 1], 15: [1, 1] }, 2, 2), []],
    ['a volatile key expired between the load and the count', loaded({ 0: [5, 2], 15: [1, 1] }, 0, 1), []],
    [
      'a persistent key is missing in database 15',
      loaded({ 0: [5, 3], 15: [0, 1] }, 0, 0),
      ['6 persistent keys at dump time, 5 restored', 'database 15: 1 persistent keys at dump time, 0 restored'],
    ],
    [
      'more volatile keys are gone than had expired',
      loaded({ 0: [5, 0], 15: [1, 1] }, 2, 2),
      ["4 volatile keys at dump time, 1 restored; 2 of the file's keys were past their expiry before the load, 2 after the count, so exactly 2 were expected"],
    ],
    [
      'a key past its expiry before the load is still there',
      loaded({ 0: [5, 3], 15: [1, 1] }, 1, 1),
      ["4 volatile keys at dump time, 4 restored; 1 of the file's keys were past their expiry before the load, 1 after the count, so exactly 3 were expected"],
    ],
    [
      'a volatile key appears in a database',
      loaded({ 0: [5, 2], 15: [1, 2] }, 0, 1),
      ['database 15: 1 volatile keys at dump time, 2 restored (keys can expire, not appear)'],
    ],
    [
      'a database the dump did not have',
      loaded({ 0: [5, 3], 7: [1, 0], 15: [1, 1] }, 0, 0),
      ['6 persistent keys at dump time, 7 restored', 'database 7: 0 persistent keys at dump time, 1 restored'],
    ],
  ] as const)('judges %s', (_case, restored, problems) => {
    const verdict = compareCounts(dumped, restored);

    expect(verdict.problems).toEqual(problems);
    expect(verdict.ok).toBe(problems.length === 0);
    expect(verdict.compared).toBe(Object.keys(restored!.redis!.databases!).includes('7') ? 3 : 2);
  });

  it('says what it compared and the bounds it allowed', () => {
    const verdict = compareCounts(dumped, loaded({ 0: [5, 1], 15: [1, 1] }, 1, 3));

    expect(verdict.details).toEqual([
      "Redis (databases 0, 15): 6 of 6 persistent keys and 2 of 4 volatile keys loaded, 1 to 3 allowed (1 of the file's keys were past their expiry before the load, 3 after the count): as expected",
    ]);
  });

  it('compares totals alone when the dump could not read per-database counts', () => {
    const { databases: _, ...totals } = dumped.redis;
    const verdict = compareCounts({ keys: 10, redis: totals }, loaded({ 0: [5, 3], 15: [1, 1] }, 0, 0));

    expect(verdict).toMatchObject({ ok: true, compared: 1 });
    expect(verdict.details[0]).toMatch(/^Redis \(all databases together\): /);
  });

  it('fails when the drill reported no Redis counts', () => {
    expect(compareCounts(dumped, { keys: 10 }).problems).toEqual(['the restore reported no Redis key counts; the dump had 6 persistent and 4 volatile keys']);
  });

  it.each([
    ['within what expired after the count', 8, true, []],
    ['below it', 7, false, ['10 keys at dump time, 7 restored; 8 to 10 were expected']],
    ['above what was live at dump time', 11, false, ['10 keys at dump time, 11 restored; 8 to 10 were expected']],
  ])('allows an older manifest (live keys only) a drill %s', (_case, keys, ok, problems) => {
    const verdict = compareCounts({ keys: 10 }, { keys, redis: { persistent: 0, volatile: keys, databases: { 0: { persistent: 0, volatile: keys } }, expiredBeforeLoad: 0, expiredAfterCount: 2 } });

    expect(verdict).toMatchObject({ ok, problems, compared: 1 });
  });
});
