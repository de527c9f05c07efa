import type { Counts, RedisCounts } from '../../shared/core/counts.js';

/**
 * Compares Redis key counts (dump time vs what the drill's throwaway server loaded). Persistent keys must come back
 * exactly, in every logical database. Volatile keys can only be fewer: Redis drops keys past their expiry as it loads,
 * and expires more afterwards. The drill ran redis-check-rdb on the file just before the load and just after the
 * count; the keys it found past their expiry then must have gone (before) and are all that may have gone (after).
 * Each difference is one problem line; what was compared is one detail line. Pure.
 */
export function compareKeys(expected: NonNullable<Counts>, restored: Counts, problems: string[], details: string[]): number {
  if (expected.redis !== undefined) return compareRedis(expected.redis, restored, problems, details);
  if (expected.keys === undefined) return 0;
  return compareKeyTotal(expected.keys, restored, problems, details);
}

function compareRedis(expected: RedisCounts, restored: Counts, problems: string[], details: string[]): number {
  const got = restored?.redis;
  if (got === undefined) {
    problems.push(`the restore reported no Redis key counts; the dump had ${expected.persistent} persistent and ${expected.volatile} volatile keys`);
    return 0;
  }
  const before = got.expiredBeforeLoad ?? 0;
  const allowed = { min: got.expiredAfterCount === undefined ? 0 : Math.max(0, expected.volatile - got.expiredAfterCount), max: expected.volatile - before };
  const first = problems.length;
  if (got.persistent !== expected.persistent) problems.push(`${expected.persistent} persistent keys at dump time, ${got.persistent} restored`);
  if (got.volatile < allowed.min || got.volatile > allowed.max) {
    problems.push(
      `${expected.volatile} volatile keys at dump time, ${got.volatile} restored; ${expiryNote(got)}, so ${range(allowed)} were expected`,
    );
  }
  const databases = expected.databases && got.databases ? compareDatabases(expected.databases, got.databases, problems) : [];
  const where = databases.length > 0 ? `databases ${databases.join(', ')}` : 'all databases together';
  const verdict = problems.length === first ? 'as expected' : 'DIFFERENT';
  details.push(
    `Redis (${where}): ${got.persistent} of ${expected.persistent} persistent keys and ${got.volatile} of ${expected.volatile} volatile keys loaded, ` +
      `${range(allowed)} allowed (${expiryNote(got)}): ${verdict}`,
  );
  return Math.max(1, databases.length);
}

type RedisKeys = { persistent: number; volatile: number };

/** Per logical database: persistent keys exactly, volatile keys no more than at dump time. The databases compared. */
function compareDatabases(expected: Record<string, RedisKeys>, got: Record<string, RedisKeys>, problems: string[]): string[] {
  const none = { persistent: 0, volatile: 0 };
  const ids = [...new Set([...Object.keys(expected), ...Object.keys(got)])].sort((a, b) => Number(a) - Number(b));
  for (const id of ids) {
    const e = Object.hasOwn(expected, id) ? expected[id]! : none;
    const g = Object.hasOwn(got, id) ? got[id]! : none;
    if (g.persistent !== e.persistent) problems.push(`database ${id}: ${e.persistent} persistent keys at dump time, ${g.persistent} restored`);
    if (g.volatile > e.volatile) problems.push(`database ${id}: ${e.volatile} volatile keys at dump time, ${g.volatile} restored (keys can expire, not appear)`);
  }
  return ids;
}

/** Manifests of older versions record only the keys not yet expired at dump time, persistent and volatile together. */
function compareKeyTotal(keys: number, restored: Counts, problems: string[], details: string[]): number {
  const got = restored?.keys;
  if (got === undefined) {
    problems.push(`the restore reported no key count; the dump had ${keys} keys`);
    return 1;
  }
  // Every key restored was live at dump time; at most those the drill found expired after its count may be gone.
  const after = restored?.redis?.expiredAfterCount;
  const allowed = { min: after === undefined ? keys : Math.max(0, keys - after), max: keys };
  const ok = got >= allowed.min && got <= allowed.max;
  if (!ok) problems.push(`${keys} keys at dump time, ${got} restored${after === undefined ? '' : `; ${range(allowed)} were expected`}`);
  details.push(`Redis: ${got} of ${keys} keys loaded (an older manifest: persistent and volatile keys not told apart), ${range(allowed)} allowed: ${ok ? 'as expected' : 'DIFFERENT'}`);
  return 1;
}

function expiryNote(got: RedisCounts): string {
  return `${got.expiredBeforeLoad ?? 'an unknown number'} of the file's keys were past their expiry before the load, ${got.expiredAfterCount ?? 'an unknown number'} after the count`;
}

function range({ min, max }: { min: number; max: number }): string {
  return min === max ? `exactly ${min}` : `${min} to ${max}`;
}
