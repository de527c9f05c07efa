import type { Counts } from '../../shared/core/counts.js';

/** Compares SQL engines' per-table counts (dump time vs restored); each difference is one problem line. Pure. */
export function compareTables(expected: NonNullable<Counts>, restored: Counts, problems: string[]): number {
  if (expected.tables === undefined) return 0;
  const got = restored?.tables;
  if (got === undefined) {
    problems.push(`the restore reported no table counts; the dump had ${Object.keys(expected.tables).length} tables`);
    return 0;
  }
  let compared = 0;
  for (const [table, rows] of Object.entries(expected.tables).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    compared++;
    // Own properties only: a table named like an Object.prototype member (constructor, toString) is still a table.
    const restoredRows = Object.hasOwn(got, table) ? got[table] : undefined;
    if (restoredRows === undefined) problems.push(`table ${table} (${rows} rows at dump time) is missing from the restore`);
    else if (restoredRows !== rows) problems.push(`table ${table}: ${rows} rows at dump time, ${restoredRows} restored`);
  }
  for (const table of Object.keys(got).sort()) {
    if (!Object.hasOwn(expected.tables, table)) problems.push(`table ${table} was restored but is not in the dump's counts`);
  }
  return compared;
}
