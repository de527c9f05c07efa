import { describe, expect, it } from 'vitest';
import type { Counts } from '../../functions/shared/core/counts.js';
import { bytesShrank, countedItems, DEFAULT_SHRINK_RULES, describeShrinkage, shrinkage } from '../../functions/shared/core/shrink.js';

const MiB = 1024 * 1024;
const rules = DEFAULT_SHRINK_RULES;
const previous = (size: number, counts: Counts) => ({ runId: 'prev-run', key: 'p/t/monday.pgdump', size, counts });

describe('shrinkage', () => {
  it.each<[string, { size: number; counts: Counts }, { size: number; counts: Counts }, ReturnType<typeof shrinkage>]>([
    ['nothing when size and rows hold', { size: 10 * MiB, counts: { tables: { 'public.a': 5000 } } }, { size: 9 * MiB, counts: { tables: { 'public.a': 5100 } } }, null],
    ['the bytes when the dump is half the size', { size: 10 * MiB, counts: null }, { size: 5 * MiB, counts: null }, { previousRunId: 'prev-run', previousKey: 'p/t/monday.pgdump', bytes: { before: 10 * MiB, after: 5 * MiB }, tables: [], percent: 50 }],
    ['nothing by size below minBytes', { size: MiB - 1, counts: null }, { size: 10, counts: null }, null],
    [
      'each table that lost half its rows, and one that is gone, sorted by name',
      { size: 100, counts: { tables: { 'public.b': 4000, 'public.a': 2000, 'public.kept': 3000, 'public.small': 999 } } },
      { size: 100, counts: { tables: { 'public.b': 2000, 'public.kept': 2999, 'public.small': 0 } } },
      { previousRunId: 'prev-run', previousKey: 'p/t/monday.pgdump', tables: [{ name: 'public.a', before: 2000, after: 0 }, { name: 'public.b', before: 4000, after: 2000 }], percent: 50 },
    ],
    [
      'MongoDB collections and Redis databases like tables',
      { size: 100, counts: { collections: { 'app.users': 5000 }, keys: 9000, redis: { persistent: 9000, volatile: 0, databases: { '0': { persistent: 8000, volatile: 1000 } } } } },
      { size: 100, counts: { collections: { 'app.users': 10 }, keys: 4000, redis: { persistent: 4000, volatile: 0, databases: { '0': { persistent: 4000, volatile: 0 } } } } },
      { previousRunId: 'prev-run', previousKey: 'p/t/monday.pgdump', tables: [{ name: 'app.users', before: 5000, after: 10 }, { name: 'db0', before: 9000, after: 4000 }], percent: 50 },
    ],
    ['nothing by rows when the new dump counted nothing', { size: 100, counts: { tables: { 'public.a': 5000 } } }, { size: 100, counts: null }, null],
  ])('flags %s', (_name, before, after, expected) => {
    expect(shrinkage(previous(before.size, before.counts), after, rules)).toEqual(expected);
  });

  it('is null without a previous backup', () => {
    expect(shrinkage(null, { size: 1, counts: null }, rules)).toBeNull();
  });

  it('applies the configured percentage', () => {
    expect(bytesShrank(10 * MiB, 8 * MiB, rules)).toBe(false);
    expect(bytesShrank(10 * MiB, 8 * MiB, { ...rules, percent: 20 })).toBe(true);
    expect(bytesShrank(10 * MiB, 8 * MiB + 1, { ...rules, percent: 20 })).toBe(false);
  });
});

describe('countedItems', () => {
  it('counts all Redis keys as one item without per-database counts', () => {
    expect([...countedItems({ keys: 12 })]).toEqual([['keys', 12]]);
  });
});

describe('describeShrinkage', () => {
  it('names the bytes and the tables', () => {
    expect(describeShrinkage({ previousRunId: 'r1', previousKey: 'k', bytes: { before: 1000, after: 100 }, tables: [{ name: 'public.t', before: 5000, after: 1 }], percent: 50 })).toBe(
      '90% fewer bytes (1000 → 100); tables with 50% fewer rows or more: public.t (5000 → 1 rows), compared with run r1',
    );
  });
});
