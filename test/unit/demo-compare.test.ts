import { describe, expect, it } from 'vitest';
import { digestDifference, tableDifferences } from '../../scripts/demo/compare.js';

describe('tableDifferences', () => {
  it.each([
    ['identical tables', { a: '1', b: '2' }, { b: '2', a: '1' }, []],
    ['a table with other rows', { a: '1', b: '2' }, { a: '1', b: '3' }, ['table b has different rows']],
    ['a table missing from the restore', { a: '1', constructor: '2' }, { a: '1' }, ['table constructor is missing from the restore']],
    ['an extra restored table', { a: '1' }, { a: '1', toString: '9' }, ['table toString is in the restore but not in the live database']],
    ['no tables at all', {}, {}, ['no tables to compare']],
  ] as const)('finds %s', (_case, live, restored, problems) => {
    expect(tableDifferences(live, restored)).toEqual(problems);
  });
});

describe('digestDifference', () => {
  const a = 'c2dd86164333a4d9b6d1b1f4b6e0b0a1d2c3e4f5';
  const b = 'd2dd86164333a4d9b6d1b1f4b6e0b0a1d2c3e4f5';
  it.each([
    ['equal digests', a, a, null],
    ['different digests', a, b, 'DEBUG DIGEST d2dd86164333… of the restore differs from the live c2dd86164333…'],
    ['an empty live dataset', '0'.repeat(40), '0'.repeat(40), 'the live dataset is empty: nothing to compare'],
  ] as const)('judges %s', (_case, live, restored, expected) => {
    expect(digestDifference(live, restored)).toBe(expected);
  });
});
