import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * What outlives a restore or drill run on the backup EFS: the result of the last one of each kind
 * (so a poll with a finished run id gets its answer, and the drill schedule knows when it last ran),
 * and the download lease of a run directory (so two invocations never append to one `.part` file).
 * The results live in `<root>/.jobs/<target>/`, outside the target directory a backup sweeps.
 */

/** Directory under the EFS root holding the results of restores and drills. */
export const JOBS_DIR = '.jobs';
/** The lease file in a run directory while an invocation downloads into it. */
export const LEASE_FILE = 'download.lease';

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
  source: z.object({ key: z.string(), versionId: z.string().nullable(), weekday: z.string(), uploadedAt: z.string() }).optional(),
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
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/**
 * Takes the download lease of a run directory until `until` (epoch ms): exclusive create, so of two
 * invocations only one downloads; a lease past its time belongs to a dead invocation and is taken over.
 */
export async function takeLease(runDir: string, until: number, now: number): Promise<boolean> {
  const path = join(runDir, LEASE_FILE);
  // Written aside and hard-linked into place: link() fails with EEXIST like 'wx', and nobody reads a half-written lease.
  const tmp = join(runDir, `.${LEASE_FILE}.${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, JSON.stringify({ until }), { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(tmp, path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let held: number;
      try {
        held = Number((JSON.parse(await readFile(path, 'utf8')) as { until?: unknown }).until);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        held = Number.NaN;
      }
      // A lease past its time belongs to a dead invocation; one without a valid time is garbage.
      if (Number.isFinite(held) && held > now) return false;
      await rm(path, { force: true });
    }
    return false;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Gives the download lease back. */
export async function releaseLease(runDir: string): Promise<void> {
  await rm(join(runDir, LEASE_FILE), { force: true });
}
