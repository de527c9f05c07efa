import type { Counts } from '../../shared/core/counts.js';

/** Compares Redis key counts (dump time vs restored); each difference is one problem line. Pure. */
export function compareKeys(expected: NonNullable<Counts>, restored: Counts, problems: string[]): number {
  if (expected.keys === undefined) return 0;
  const got = restored?.keys;
  if (got === undefined) problems.push(`the restore reported no key count; the dump had ${expected.keys} keys`);
  else if (got !== expected.keys) problems.push(`${expected.keys} keys at dump time, ${got} restored`);
  return 1;
}
