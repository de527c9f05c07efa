import { describe, expect, it } from 'vitest';
import { compareCounts } from '../../functions/orchestrator/drill/drill-compare.js';

const dumped = { collections: { 'app.users': 3, 'app.orders': 5, 'app.empty': 0 } };

describe('compareCounts of MongoDB collections', () => {
  it.each([
    ['equal documents', { collections: { 'app.orders': 5, 'app.users': 3, 'app.empty': 0 } }, []],
    ['a view restored with no documents', { collections: { ...dumped.collections, 'app.active': 0 } }, []],
    ['a count that differs', { collections: { ...dumped.collections, 'app.orders': 4 } }, ['collection app.orders: 5 documents at dump time, 4 restored']],
    ['a collection missing', { collections: { 'app.users': 3, 'app.orders': 5 } }, ['collection app.empty (0 documents at dump time) is missing from the restore']],
    ['a collection not in the dump', { collections: { ...dumped.collections, 'app.new': 2 } }, ["collection app.new was restored with 2 documents but is not in the dump's counts"]],
    ['no collection counts', { keys: 3 }, ['the restore reported no collection counts; the dump had 3 collections']],
    ['a collection named like an Object.prototype member', { collections: { ...dumped.collections, 'app.constructor': 1 } }, ["collection app.constructor was restored with 1 documents but is not in the dump's counts"]],
  ] as const)('judges %s', (_case, restored, problems) => {
    const verdict = compareCounts(dumped, restored);

    expect(verdict.problems).toEqual(problems);
    expect(verdict.ok).toBe(problems.length === 0);
  });

  it('says what it compared', () => {
    const verdict = compareCounts(dumped, dumped);

    expect(verdict).toMatchObject({ compared: 3, details: ['MongoDB: 3 collections, 8 documents at dump time: all restored'] });
  });
});
