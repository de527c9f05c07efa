import * as z from 'zod';
import type { Counts } from './counts.js';

/**
 * Whether a new dump is much smaller than the backup before it: by bytes, or by the rows of a table (documents of
 * a collection, keys of a Redis database). A task that was just initialised (a rolling deploy, a new volume) dumps
 * an almost empty database that is valid in every other way; such a dump is still uploaded, but flagged. Pure.
 */

/** The thresholds, as the config's `targets[].shrink` holds them. */
export interface ShrinkRules {
  /** A drop of at least this many percent is a shrink. */
  readonly percent: number;
  /** A previous dump smaller than this many bytes is not compared by size (tiny databases swing a lot). */
  readonly minBytes: number;
  /** A table with fewer rows than this in the previous dump is not compared. */
  readonly minRows: number;
}

/** The defaults of `targets[].shrink`. */
export const DEFAULT_SHRINK_RULES: ShrinkRules = { percent: 50, minBytes: 1024 * 1024, minRows: 1000 };

const count = z.number().int().nonnegative();

/** What shrank, as a manifest records it. */
export const shrinkageSchema = z.object({
  /** Run id and key of the backup compared with. */
  previousRunId: z.string(),
  previousKey: z.string(),
  /** Set when the dump's bytes dropped by the threshold. */
  bytes: z.object({ before: count, after: count }).optional(),
  /** Tables (collections, Redis databases) whose rows dropped by the threshold; a table gone has `after` 0. */
  tables: z.array(z.object({ name: z.string(), before: count, after: count })),
  /** The threshold in percent that was applied. */
  percent: z.number(),
});

/** A recorded shrink. */
export type Shrinkage = z.infer<typeof shrinkageSchema>;

/** What is compared of a backup. */
export interface ComparedBackup {
  readonly runId: string;
  readonly key: string;
  readonly size: number;
  readonly counts: Counts;
}

/** Whether `after` is at least `percent` percent below `before`. */
function dropped(before: number, after: number, percent: number): boolean {
  return after <= before * (1 - percent / 100);
}

/** Rows per table, documents per collection, or keys per Redis database (`db<N>`, else `keys` for all). */
export function countedItems(counts: Counts): Map<string, number> {
  const items = new Map<string, number>();
  if (counts === null) return items;
  for (const [name, rows] of Object.entries(counts.tables ?? {})) items.set(name, rows);
  for (const [name, docs] of Object.entries(counts.collections ?? {})) items.set(name, docs);
  const databases = counts.redis?.databases;
  if (databases) {
    for (const [db, keys] of Object.entries(databases)) items.set(`db${db}`, keys.persistent + keys.volatile);
  } else if (counts.keys !== undefined) {
    items.set('keys', counts.keys);
  }
  return items;
}

/** Whether a dump of `after` bytes shrank from one of `before` bytes under the rules. */
export function bytesShrank(before: number, after: number, rules: ShrinkRules): boolean {
  return before >= rules.minBytes && dropped(before, after, rules.percent);
}

/** What shrank from `previous` to `current`, or null when nothing did (or there is no previous backup). */
export function shrinkage(previous: ComparedBackup | null, current: Omit<ComparedBackup, 'runId' | 'key'>, rules: ShrinkRules): Shrinkage | null {
  if (previous === null) return null;
  const now = countedItems(current.counts);
  // Without counts now (an engine or job that counted nothing), only the bytes can be compared.
  const tables = current.counts === null ? [] : [...countedItems(previous.counts)]
    .filter(([name, before]) => before >= rules.minRows && dropped(before, now.get(name) ?? 0, rules.percent))
    .map(([name, before]) => ({ name, before, after: now.get(name) ?? 0 }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const bytes = bytesShrank(previous.size, current.size, rules) ? { before: previous.size, after: current.size } : undefined;
  if (!bytes && tables.length === 0) return null;
  return { previousRunId: previous.runId, previousKey: previous.key, ...(bytes ? { bytes } : {}), tables, percent: rules.percent };
}

/** One line naming what shrank, for logs and `npm run status`. */
export function describeShrinkage(s: Shrinkage): string {
  const parts: string[] = [];
  if (s.bytes) parts.push(`${Math.round((1 - s.bytes.after / s.bytes.before) * 100)}% fewer bytes (${s.bytes.before} → ${s.bytes.after})`);
  const shown = s.tables.slice(0, 20).map((t) => `${t.name} (${t.before} → ${t.after} rows)`);
  if (s.tables.length > shown.length) shown.push(`and ${s.tables.length - shown.length} more`);
  if (shown.length > 0) parts.push(`tables with ${s.percent}% fewer rows or more: ${shown.join(', ')}`);
  return `${parts.join('; ')}, compared with run ${s.previousRunId}`;
}
