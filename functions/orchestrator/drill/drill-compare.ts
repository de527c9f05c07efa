import type { Counts } from '../../shared/core/counts.js';
import { compareCollections } from './compare-collections.js';
import { compareKeys } from './compare-keys.js';
import { compareTables } from './compare-tables.js';

/**
 * The verdict of a restore drill: what the manifest recorded at dump time (rows per table for SQL
 * engines, keys for Redis, documents for MongoDB) against what the restored scratch database holds. Pure.
 */

/** The comparison of a drill: ok when nothing differs; `problems` say what does; `warnings` what could not be compared. */
export interface DrillVerdict {
  ok: boolean;
  problems: string[];
  warnings: string[];
  /** What was compared, a line per engine family that says so (Redis, MongoDB). */
  details: string[];
  /** Tables compared (SQL engines), logical databases (Redis) or collections (MongoDB). */
  compared: number;
}

const MAX_LISTED = 20;

/** Compares the counts recorded at dump time with the restored ones. */
export function compareCounts(expected: Counts, restored: Counts): DrillVerdict {
  if (expected === null) {
    return { ok: true, problems: [], warnings: ['the manifest records no counts (written by an older version): only the restore itself was checked'], details: [], compared: 0 };
  }
  const problems: string[] = [];
  const details: string[] = [];
  const compared = compareKeys(expected, restored, problems, details) + compareCollections(expected, restored, problems, details) + compareTables(expected, restored, problems);
  const listed = problems.length > MAX_LISTED ? [...problems.slice(0, MAX_LISTED), `… and ${problems.length - MAX_LISTED} more`] : problems;
  return { ok: problems.length === 0, problems: listed, warnings: [], details, compared };
}
