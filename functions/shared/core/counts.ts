import { z } from 'zod';

/**
 * What a job counted (backup: in the dump it wrote; drill: in what it restored), as markers, manifests and
 * run records carry it. One schema for all three, so a field added for one engine reaches every reader.
 * Unknown fields are dropped, so a newer writer does not break an older reader.
 */

const count = z.number().int().nonnegative();

/** Keys of one logical Redis database (or all of them), split by whether they carry an expiry. */
const redisKeysSchema = z.object({ persistent: count, volatile: count });

/**
 * Redis keys, persistent and volatile apart: persistent keys must come back exactly, volatile ones may have expired
 * in between. Backup: what the RDB file holds (`expiredAtCheck` of them already past their expiry when
 * redis-check-rdb read it). Drill: what the throwaway server holds once loaded, and how many keys of the file
 * redis-check-rdb found expired just before the load and just after the count, which bounds what may have gone.
 */
const redisCountsSchema = redisKeysSchema.extend({
  databases: z.record(z.string().regex(/^\d+$/), redisKeysSchema).optional(),
  expiredAtCheck: count.optional(),
  expiredBeforeLoad: count.optional(),
  expiredAfterCount: count.optional(),
});

/** Row counts per table (SQL engines), key counts (Redis) and documents per collection (MongoDB). */
export const countsSchema = z
  .object({
    tables: z.record(z.string(), count).optional(),
    /** Redis: keys not yet expired (backup) or loaded (drill), all databases together. */
    keys: count.optional(),
    redis: redisCountsSchema.optional(),
    /** MongoDB: documents per namespace `db.collection`, read from the archive (backup) or restored (drill). */
    collections: z.record(z.string(), count).optional(),
  })
  .nullable();

/** Counts as recorded; null when none were. */
export type Counts = z.infer<typeof countsSchema>;

/** The Redis part of counts. */
export type RedisCounts = z.infer<typeof redisCountsSchema>;
