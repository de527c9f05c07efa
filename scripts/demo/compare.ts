/**
 * Comparing a restored database with the live one it was backed up from: per-table checksums (SQL
 * engines) or a whole-dataset digest (Redis). Pure; every difference is named.
 */

/** The differences between the live and the restored per-table checksums; empty when they are identical. */
export function tableDifferences(live: Readonly<Record<string, string>>, restored: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const has = (o: Readonly<Record<string, string>>, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  for (const table of Object.keys(live).sort()) {
    if (!has(restored, table)) problems.push(`table ${table} is missing from the restore`);
    else if (live[table] !== restored[table]) problems.push(`table ${table} has different rows`);
  }
  for (const table of Object.keys(restored).sort()) {
    if (!has(live, table)) problems.push(`table ${table} is in the restore but not in the live database`);
  }
  if (Object.keys(live).length === 0 && Object.keys(restored).length === 0) problems.push('no tables to compare');
  return problems;
}

/** The difference between two Redis DEBUG DIGEST answers, or null when equal (an empty dataset does not count as equal). */
export function digestDifference(live: string, restored: string): string | null {
  if (/^0{40}$/.test(live)) return 'the live dataset is empty: nothing to compare';
  return live === restored ? null : `DEBUG DIGEST ${restored.slice(0, 12)}… of the restore differs from the live ${live.slice(0, 12)}…`;
}
