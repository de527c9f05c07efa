import type { Counts } from '../../shared/core/counts.js';
import { compareCollections } from './compare-collections.js';
import { compareKeys } from './compare-keys.js';
import { compareContent, compareTables } from './compare-tables.js';

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
  /** SQL engines: what the content comparison covered beyond counts (row digests, sequences, large objects). */
  checked: string[];
}

const MAX_LISTED = 20;

/** Compares the counts recorded at dump time with the restored ones. */
export function compareCounts(expected: Counts, restored: Counts): DrillVerdict {
  if (expected === null) {
    return { ok: true, problems: [], warnings: ['the manifest records no counts (written by an older version): only the restore itself was checked'], details: [], compared: 0, checked: [] };
  }
  const problems: string[] = [];
  const details: string[] = [];
  const compared = compareKeys(expected, restored, problems, details) + compareCollections(expected, restored, problems, details) + compareTables(expected, restored, problems);
  const checked = compareContent(expected, restored, problems);
  const warnings: string[] = [];
  if (expected.floatColumns?.length) warnings.push(`FLOAT columns keep about 6 significant digits through the dump tool: ${expected.floatColumns.slice(0, 10).join(', ')}`);
  if (Object.keys(expected.tables ?? {}).length > 0 && checked.length === 0) {
    warnings.push('no row digests were read (a backup or a job without md5sum): rows were counted only');
  }
  const listed = problems.length > MAX_LISTED ? [...problems.slice(0, MAX_LISTED), `… and ${problems.length - MAX_LISTED} more`] : problems;
  return { ok: problems.length === 0, problems: listed, warnings, details, compared, checked };
}

/** A passed drill's one-line summary: what was compared. */
export function drillSummary(v: Pick<DrillVerdict, 'compared' | 'checked' | 'details'>): string {
  if (v.checked.length > 0) return `restored content matches (rows of ${v.compared} tables, ${v.checked.join(', ')})`;
  const compares = v.details.length > 0 ? `: ${v.details.join('; ')}` : '';
  return v.compared > 0 ? `restored counts match the manifest (${v.compared} compared)${compares}` : 'restore succeeded';
}
