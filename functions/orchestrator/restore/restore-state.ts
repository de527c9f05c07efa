import * as z from 'zod';
import { countsSchema } from '../../shared/core/counts.js';
import { WEEKDAYS } from '../../shared/core/s3-keys.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { BackupError } from '../../shared/errors.js';
import type { TargetOutcome } from '../deps.js';

/**
 * What a restore or drill keeps in its run record's `params` (the run record itself is the target's
 * lock, shared with backups), and what the orchestrator answers about such a run.
 */

/** The run record of a restore or drill does not hold the parameters this version writes. */
export class JobStateError extends BackupError {}


/** The backup object a restore or drill uses, pinned when the run starts (a later backup cannot change it). */
export const jobSourceSchema = z.object({
  key: z.string().min(1),
  /** null in an unversioned bucket: the download then pins the object's ETag. */
  versionId: z.string().nullable(),
  weekday: z.enum(WEEKDAYS),
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The backup run that wrote the object, and when it was uploaded. */
  backupRunId: z.string(),
  uploadedAt: z.string(),
  /** What the manifest recorded at dump time. */
  counts: countsSchema,
});

/** A pinned backup object. */
export type JobSource = z.infer<typeof jobSourceSchema>;

/** Schema of `params` of a restore or drill run record. */
export const jobParamsSchema = z.object({
  source: jobSourceSchema,
  /** The file's name in the run directory. */
  file: z.string().min(1),
  /** Restore: the database restored into (absent = the target's own) and whether live data may be replaced. */
  intoDatabase: z.string().optional(),
  overwrite: z.boolean().default(false),
  /** Restore: compare the restored content with the archive's and the manifest's. */
  verify: z.boolean().default(false),
  /** Drill: the scratch database restored into and dropped. */
  scratchDatabase: z.string().optional(),
  /** Restore: the replica bucket the backup is read from (absent = the deployment's bucket); checked again before each download. */
  from: z.object({ bucket: z.string().min(1), region: z.string().min(1) }).optional(),
  /** Bytes downloaded so far (progress only: the .part file on EFS is the truth). */
  bytesDownloaded: z.number().int().nonnegative().default(0),
});

/** Parameters of a restore or drill run. */
export type JobParams = z.infer<typeof jobParamsSchema>;

/** The validated params of a restore or drill run record. */
export function jobParams(run: RunRecord): JobParams {
  const parsed = jobParamsSchema.safeParse(run.params);
  if (!parsed.success) {
    throw new JobStateError(
      `run ${run.runId} of ${run.target} holds ${run.kind} parameters this version cannot read; delete ${run.target}/run.json on the backup EFS and start again`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Where a restore or drill is. */
export type JobPhase = 'downloading' | 'running' | 'finished';

/** What the orchestrator answers about a restore or drill (and lists among the scheduled results). */
export interface JobOutcome extends TargetOutcome {
  kind: 'restore' | 'drill';
  phase?: JobPhase;
  /** `bucket`: set when the backup is read from the replica. */
  source?: { key: string; versionId: string | null; weekday: string; uploadedAt: string; bucket?: string };
  /** The database restored into (restore) or the scratch database (drill). */
  database?: string;
  progress?: { bytesDownloaded: number; bytesTotal: number; runningSeconds?: number };
  /** What the job says remains to do (Redis: how to load the staged file). */
  note?: string;
  /** Drill: what differs between the manifest's counts and the restored database's. */
  problems?: string[];
}
