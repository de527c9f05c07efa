import * as z from 'zod';

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

const md5 = z.string().regex(/^[0-9a-f]{32}(?:\+[0-9a-f]{32})*$/);

/** Row counts per table (SQL engines), key counts (Redis), documents per collection (MongoDB), and the SQL engines' content. */
const contentShape = {
  tables: z.record(z.string(), count).optional(),
  /** Redis: keys not yet expired (backup) or loaded (drill), all databases together. */
  keys: count.optional(),
  redis: redisCountsSchema.optional(),
  /** MongoDB: documents per namespace `db.collection`, read from the archive (backup) or restored (drill). */
  collections: z.record(z.string(), count).optional(),
  /** md5 of each table's rows as the engine's dump tool writes them, in order (same keys as tables). */
  digests: z.record(z.string(), md5).optional(),
  /** PostgreSQL: each sequence's `<value>,<is_called>` as pg_dump sets it. */
  sequences: z.record(z.string(), z.string()).optional(),
  /** PostgreSQL: how many large objects, and the md5 of their data as pg_dump writes it. */
  largeObjects: z.object({ count, digest: md5.optional() }).optional(),
  /** MySQL/MariaDB: the database's default character set and collation at dump time. */
  database: z.object({ charset: z.string(), collation: z.string() }).optional(),
  /** MySQL/MariaDB: whether the dump holds the history of system-versioned tables (--dump-history). */
  history: z.boolean().optional(),
  /** MySQL/MariaDB: FLOAT columns (`table.column`): their values come back with about 6 significant digits. */
  floatColumns: z.array(z.string()).optional(),
};

/** Counts as recorded; a SQL drill's or a verified restore's also carry `archive`: the same read from the archive itself. */
export const countsSchema = z
  .object({ ...contentShape, archive: z.object(contentShape).optional() })
  .nullable();

/** Counts as recorded; null when none were. */
export type Counts = z.infer<typeof countsSchema>;

/** The Redis part of counts. */
export type RedisCounts = z.infer<typeof redisCountsSchema>;
