import * as z from 'zod';
import { BackupError } from '../errors.js';

/**
 * The run record `<efs>/<target>/run.json`: the lock of one target (created exclusively) and the
 * phase its run is in, so an invocation killed at any point leaves enough for the next one to carry on.
 * Phases: `starting` (lock taken, nothing launched yet) → `running` (wrapper printed `started <pid>`)
 * → `uploading` (marker verified, upload under way). Restores and drills reuse it with their own `kind`.
 */

/** A run record that is not JSON or does not match the schema. */
export class RunRecordError extends BackupError {}

/** What kind of job a run record belongs to. */
export const RUN_KINDS = ['backup', 'restore', 'drill'] as const;

/** Phases of a run, in order. */
export const RUN_PHASES = ['starting', 'running', 'uploading'] as const;

const isoTime = z.iso.datetime({ offset: true });

/** The ECS task a job was started in. */
export const runTaskSchema = z.object({
  taskArn: z.string().min(1),
  taskId: z.string().min(1),
  clusterArn: z.string().min(1),
  container: z.string().min(1),
});

/** Progress of a run's transfer (a backup's upload, a restore's or drill's download) over invocations. */
export const transferSchema = z.object({
  /** When the transfer began. */
  startedAt: isoTime,
  /** Parts (upload) or bytes (download) done at the last look. */
  done: z.number().int().nonnegative(),
  /** Invocations since the last one that got further; counted before each works on it, so one killed mid-way counts. */
  idleInvocations: z.number().int().nonnegative(),
});

/** A run's transfer progress. */
export type Transfer = z.infer<typeof transferSchema>;

/** Schema of run.json, version 1. */
export const runRecordSchema = z
  .object({
    version: z.literal(1),
    kind: z.enum(RUN_KINDS),
    runId: z.string().regex(/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6,16}$/, { message: 'must look like 20260101T000000Z-0123ab' }),
    target: z.string().min(1),
    phase: z.enum(RUN_PHASES),
    /** When the lock was taken. */
    createdAt: isoTime,
    /** The scheduled time this run serves; null for a manual run (its failure never blocks the schedule). */
    slot: isoTime.nullable(),
    /** When the wrapper reported the detached job started. */
    startedAt: isoTime.nullable(),
    task: runTaskSchema.nullable(),
    /** Process (group) id of the detached job in the container. */
    pid: z.number().int().positive().nullable(),
    /** Failed upload invocations so far (S3 errors); the run fails when it reaches the limit. */
    uploadAttempts: z.number().int().nonnegative(),
    lastError: z.string().nullable(),
    /** Time spent uploading so far, summed over invocations. */
    uploadMs: z.number().nonnegative().default(0),
    /** Set once the dump object is complete in S3, so a failed manifest write is retried without uploading again. */
    uploaded: z
      .object({ key: z.string(), size: z.number().int().positive(), sha256: z.string(), versionId: z.string().nullable() })
      .nullable()
      .default(null),
    /** The upload's (or download's) progress, so one that stops getting anywhere ends the run (core/transfer-progress.ts). */
    transfer: transferSchema.nullable().default(null),
    /** Free-form parameters of restores and drills; unused by backups. */
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.phase !== 'starting' && (r.task === null || r.startedAt === null)) {
      ctx.addIssue({ code: 'custom', path: ['task'], message: `task and startedAt are required in phase "${r.phase}"` });
    }
  });

/** A validated run record. */
export type RunRecord = z.infer<typeof runRecordSchema>;

/** Parses run.json text; throws RunRecordError naming the bad fields. */
export function parseRunRecord(json: string): RunRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new RunRecordError(`run record is not JSON (${(error as Error).message}); it is treated as abandoned`, { cause: error });
  }
  const result = runRecordSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RunRecordError(`run record is invalid: ${problems.join('; ')}`, { cause: result.error });
  }
  return result.data;
}

/** A run id: the UTC start time (sortable) and random hex, safe in paths, keys and shell words. */
export function newRunId(now: Date, randomHex: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${randomHex}`;
}

/** A fresh run record in phase `starting`. */
export function startingRecord(args: {
  kind: RunRecord['kind'];
  runId: string;
  target: string;
  now: Date;
  slot: Date | null;
  params?: Record<string, unknown>;
}): RunRecord {
  return {
    version: 1,
    kind: args.kind,
    runId: args.runId,
    target: args.target,
    phase: 'starting',
    createdAt: args.now.toISOString(),
    slot: args.slot?.toISOString() ?? null,
    startedAt: null,
    task: null,
    pid: null,
    uploadAttempts: 0,
    lastError: null,
    uploadMs: 0,
    uploaded: null,
    transfer: null,
    ...(args.params ? { params: args.params } : {}),
  };
}
