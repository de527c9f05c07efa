import type { Counts } from '../../shared/core/counts.js';

/**
 * The SQL engines' part of a drill's verdict: rows per table (dump time vs restored), then content: each table's row
 * digest, each sequence and the large objects, restored vs the archive itself (read by the same job) vs dump time (the
 * manifest). restored = archive catches a restore that lost or changed rows; archive = dump time catches an archive
 * whose content is not what was dumped although its manifest vouches for its bytes. Pure.
 */

type Content = NonNullable<Counts>;
type Values = Record<string, string> | undefined;

const sorted = (o: object) => Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const own = (o: Values, k: string) => (o !== undefined && Object.hasOwn(o, k) ? o[k] : undefined);

/** Compares SQL engines' per-table counts (dump time vs restored); each difference is one problem line. */
export function compareTables(expected: Content, restored: Counts, problems: string[]): number {
  if (expected.tables === undefined) return 0;
  const got = restored?.tables;
  if (got === undefined) {
    problems.push(`the restore reported no table counts; the dump had ${Object.keys(expected.tables).length} tables`);
    return 0;
  }
  let compared = 0;
  for (const table of sorted(expected.tables)) {
    compared++;
    const rows = expected.tables[table]!;
    // Own properties only: a table named like an Object.prototype member (constructor, toString) is still a table.
    const restoredRows = Object.hasOwn(got, table) ? got[table] : undefined;
    if (restoredRows === undefined) problems.push(`table ${table} (${rows} rows at dump time) is missing from the restore`);
    else if (restoredRows !== rows) problems.push(`table ${table}: ${rows} rows at dump time, ${restoredRows} restored`);
  }
  for (const table of sorted(got)) {
    if (!Object.hasOwn(expected.tables, table)) problems.push(`table ${table} was restored but is not in the dump's counts`);
  }
  return compared;
}

/**
 * Compares one kind of content (`what` names an item: "table", "sequence") by key: restored vs archive, archive vs
 * dump time, and restored vs dump time when the job read no archive. Returns how many items were compared.
 */
function compareValues(what: string, dumpTime: Values, archive: Values, restored: Values, problems: string[], show: (v: string) => string): number {
  if (restored === undefined) return 0;
  const keys = new Set([...Object.keys(restored), ...Object.keys(archive ?? {}), ...Object.keys(dumpTime ?? {})]);
  let compared = 0;
  for (const key of [...keys].sort()) {
    const [d, a, r] = [own(dumpTime, key), own(archive, key), own(restored, key)];
    const before = problems.length;
    if (a !== undefined && r !== undefined && a !== r) problems.push(`${what} ${key}: restored ${show(r)}, the archive holds ${show(a)}`);
    if (d !== undefined && a !== undefined && d !== a) problems.push(`${what} ${key}: the archive holds ${show(a)}, the dump recorded ${show(d)}`);
    if (a === undefined && d !== undefined && r !== undefined && d !== r) problems.push(`${what} ${key}: restored ${show(r)}, the dump recorded ${show(d)}`);
    if (problems.length === before && r === undefined && (a ?? d) !== undefined && what !== 'table') problems.push(`${what} ${key}: missing from the restore`);
    if (r !== undefined && (a !== undefined || d !== undefined)) compared++;
  }
  return compared;
}

/** What the content comparison covered, e.g. ["row digests of 12 tables", "3 sequences", "2 large objects"]. */
export function compareContent(expected: Content, restored: Counts, problems: string[]): string[] {
  const archive = restored?.archive;
  const checked: string[] = [];
  const rows = (v: string) => (v.length === 32 ? `rows with md5 ${v.slice(0, 12)}…` : 'rows with other digests');
  const tables = compareValues('table', expected.digests, archive?.digests, restored?.digests, problems, rows);
  if (tables > 0) checked.push(`row digests of ${tables} tables`);
  const sequences = compareValues('sequence', expected.sequences, archive?.sequences, restored?.sequences, problems, (v) => `value ${v}`);
  if (sequences > 0) checked.push(`${sequences} sequences`);
  const lo = (c: Content | undefined | null) => (c?.largeObjects ? { objects: `${c.largeObjects.count} objects with md5 ${(c.largeObjects.digest ?? 'none').slice(0, 12)}…` } : undefined);
  const objects = compareValues('large', lo(expected), lo(archive), lo(restored), problems, (v) => v);
  if (objects > 0) checked.push(`${restored!.largeObjects!.count} large objects`);
  const props = (c: Content | undefined | null) => (c?.database ? { 'charset/collation': `${c.database.charset}/${c.database.collation}` } : undefined);
  if (compareValues('database', props(expected), undefined, props(restored), problems, (v) => v) > 0) checked.push('charset and collation');
  if (checked.length > 0) checked.push(archive ? (expected.digests ? 'restored = archive = dump time' : 'restored = archive (the manifest has no digests)') : 'restored = dump time');
  return checked;
}
