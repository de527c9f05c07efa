import { z } from 'zod';

/**
 * What a job counted (backup: in the dump it wrote; drill: in what it restored), as markers, manifests and
 * run records carry it. One schema for all three, so a field added for one engine reaches every reader.
 * Unknown fields are dropped, so a newer writer does not break an older reader.
 */

/** Row counts per table (SQL engines) and key count (Redis). */
export const countsSchema = z
  .object({
    tables: z.record(z.string(), z.number().int().nonnegative()).optional(),
    keys: z.number().int().nonnegative().optional(),
  })
  .nullable();

/** Counts as recorded; null when none were. */
export type Counts = z.infer<typeof countsSchema>;
