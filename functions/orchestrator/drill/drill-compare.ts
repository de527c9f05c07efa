import type { Counts } from '../../shared/core/counts.js';

/**
 * The verdict of a restore drill: what the manifest recorded at dump time (rows per table for SQL
 * engines, keys for Redis) against what the restored scratch database holds. Pure.
 */

/** The comparison of a drill: ok when nothing differs; `problems` say what does; `warnings` what could not be compared. */
export interface DrillVerdict {
  ok: boolean;
  problems: string[];
  warnings: string[];
  /** Tables compared (SQL engines) or 1 for the key count (Redis). */
  compared: number;
}

const MAX_LISTED = 20;

/** Compares the counts recorded at dump time with the restored ones. */
export function compareCounts(expected: Counts, restored: Counts): DrillVerdict {
  if (expected === null) {
    return { ok: true, problems: [], warnings: ['the manifest records no counts (written by an older version): only the restore itself was checked'], compared: 0 };
  }
  const problems: string[] = [];
  let compared = 0;
  if (expected.keys !== undefined) {
    compared++;
    const got = restored?.keys;
    if (got === undefined) problems.push(`the restore reported no key count; the dump had ${expected.keys} keys`);
    else if (got !== expected.keys) problems.push(`${expected.keys} keys at dump time, ${got} restored`);
  }
  if (expected.tables !== undefined) {
    const got = restored?.tables;
    if (got === undefined) {
      problems.push(`the restore reported no table counts; the dump had ${Object.keys(expected.tables).length} tables`);
    } else {
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
    }
  }
  const listed = problems.length > MAX_LISTED ? [...problems.slice(0, MAX_LISTED), `… and ${problems.length - MAX_LISTED} more`] : problems;
  return { ok: problems.length === 0, problems: listed, warnings: [], compared };
}
