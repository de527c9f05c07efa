import type { Counts } from '../../shared/core/counts.js';

/**
 * Compares MongoDB documents per collection: what the backup read from the whole archive against what mongorestore
 * restored into the scratch database (names mapped back to the source database). A namespace restored with no
 * documents that the archive did not count (a view, which holds none) is not a difference. Each difference is one
 * problem line; what was compared is one detail line. Pure.
 */
export function compareCollections(expected: NonNullable<Counts>, restored: Counts, problems: string[], details: string[]): number {
  if (expected.collections === undefined) return 0;
  const want = expected.collections;
  const got = restored?.collections;
  const names = Object.keys(want).sort();
  if (got === undefined) {
    problems.push(`the restore reported no collection counts; the dump had ${names.length} collections`);
    return 0;
  }
  const first = problems.length;
  for (const ns of names) {
    // Own properties only: a collection named like an Object.prototype member is still a collection.
    const docs = Object.hasOwn(got, ns) ? got[ns] : undefined;
    if (docs === undefined) problems.push(`collection ${ns} (${want[ns]} documents at dump time) is missing from the restore`);
    else if (docs !== want[ns]) problems.push(`collection ${ns}: ${want[ns]} documents at dump time, ${docs} restored`);
  }
  for (const ns of Object.keys(got).sort()) {
    if (!Object.hasOwn(want, ns) && got[ns]! > 0) problems.push(`collection ${ns} was restored with ${got[ns]} documents but is not in the dump's counts`);
  }
  const total = names.reduce((sum, ns) => sum + want[ns]!, 0);
  details.push(`MongoDB: ${names.length} collections, ${total} documents at dump time: ${problems.length === first ? 'all restored' : 'DIFFERENT'}`);
  return names.length;
}
