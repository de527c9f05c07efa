import type { Counts } from '../../shared/core/counts.js';
import { compareKeys } from './compare-keys.js';
import { compareTables } from './compare-tables.js';

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
  const compared = compareKeys(expected, restored, problems) + compareTables(expected, restored, problems);
  const listed = problems.length > MAX_LISTED ? [...problems.slice(0, MAX_LISTED), `… and ${problems.length - MAX_LISTED} more`] : problems;
  return { ok: problems.length === 0, problems: listed, warnings: [], compared };
}
