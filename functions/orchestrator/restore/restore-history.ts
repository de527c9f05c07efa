import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { writeJsonAtomic } from '../../shared/adapters/atomic-json.js';

/**
 * What outlives a restore or drill run on the backup EFS: the result of the last one of each kind
 * (so a poll with a finished run id gets its answer, and the drill schedule knows when it last ran).
 * The results live in `<root>/.jobs/<target>/`, outside the target directory a backup sweeps.
 */

/** Directory under the EFS root holding the results of restores and drills. */
export const JOBS_DIR = '.jobs';

/** Schema of last-restore.json and last-drill.json. */
export const jobResultSchema = z.object({
  runId: z.string(),
  kind: z.enum(['restore', 'drill']),
  outcome: z.enum(['succeeded', 'failed']),
  reason: z.string().optional(),
  note: z.string().optional(),
  problems: z.array(z.string()).optional(),
  /** The drill slot the run served (drills only; null for a manual drill). */
  slot: z.string().nullable().default(null),
  startedAt: z.string(),
  finishedAt: z.string(),
  database: z.string().optional(),
  source: z.object({ key: z.string(), versionId: z.string().nullable(), weekday: z.string(), uploadedAt: z.string(), bucket: z.string().optional() }).optional(),
});

/** The result of a finished restore or drill. */
export type JobResult = z.infer<typeof jobResultSchema>;

function resultPath(root: string, target: string, kind: JobResult['kind']): string {
  return join(root, JOBS_DIR, target, `last-${kind}.json`);
}

/** Reads the last result of a kind; an unreadable file counts as none. */
export async function readJobResult(root: string, target: string, kind: JobResult['kind']): Promise<JobResult | null> {
  try {
    const parsed = jobResultSchema.safeParse(JSON.parse(await readFile(resultPath(root, target, kind), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Writes the last result of a kind atomically. */
export async function writeJobResult(root: string, target: string, result: JobResult): Promise<void> {
  const path = resultPath(root, target, result.kind);
  await mkdir(join(root, JOBS_DIR, target), { recursive: true });
  await writeJsonAtomic(path, result);
}
