import { join } from 'node:path';
import * as z from 'zod';
import { UPLOAD_PROGRESS_FILE, type EfsState, type LastFailure } from '../shared/adapters/efs-state.js';
import { MAX_PROGRESS_BYTES } from '../shared/adapters/s3-transfer.js';
import type { Target } from '../shared/config/schema.js';
import { extensionFor } from '../shared/core/marker.js';
import type { RunRecord } from '../shared/core/run-record.js';
import { readJobResult, type JobResult } from './restore/restore-history.js';
import { jobParamsSchema } from './restore/restore-state.js';

/**
 * The read-only `status` action: what only the backup EFS knows about each target (the current run and
 * its progress, the last failed run, the last restore and drill), for `npm run status`. It takes no
 * lock, writes nothing and starts nothing, so it is safe to call while runs go on.
 */

/** Problems of a drill result kept in the answer; the rest are counted (a Lambda answer is at most 6 MB). */
export const STATUS_PROBLEMS_KEPT = 20;

/** How far a run has got, in bytes; each field only where the phase has it. */
export interface RunProgress {
  /** Backup, phase running: bytes of the dump written so far in the container. */
  dumpBytes?: number;
  /** Backup, phase uploading: bytes of the dump sent to S3, and the dump's size. */
  uploadedBytes?: number;
  uploadTotalBytes?: number;
  /** Restore or drill, phase starting: bytes of the backup downloaded, and its size. */
  downloadedBytes?: number;
  downloadTotalBytes?: number;
}

/** The run holding a target's lock, as the status shows it. */
export interface CurrentRun {
  kind: RunRecord['kind'];
  phase: RunRecord['phase'];
  runId: string;
  createdAt: string;
  startedAt: string | null;
  slot: string | null;
  uploadAttempts: number;
  lastError: string | null;
  progress: RunProgress;
}

/** One target's state on the backup EFS. */
export interface TargetRunStatus {
  target: string;
  /** null: no run; `unreadable`: run.json exists but does not parse (the next invocation cleans it up). */
  run: CurrentRun | { unreadable: string } | null;
  lastFailure: LastFailure | null;
  lastDrill: JobResult | null;
  lastRestore: JobResult | null;
}

/** The fields of the upload progress file the status reads (the uploader owns the rest). */
const uploadProgressSchema = z.object({
  fileSize: z.number().nonnegative(),
  parts: z.array(z.object({ size: z.number().nonnegative() })),
});

async function uploadProgress(state: EfsState, run: RunRecord): Promise<RunProgress> {
  try {
    const text = await state.readRunFile(run.target, run.runId, UPLOAD_PROGRESS_FILE, MAX_PROGRESS_BYTES);
    if (text === null) return {};
    const parsed = uploadProgressSchema.safeParse(JSON.parse(text.toString('utf8')));
    if (!parsed.success) return {};
    return { uploadedBytes: parsed.data.parts.reduce((n, p) => n + p.size, 0), uploadTotalBytes: parsed.data.fileSize };
  } catch {
    // none yet (the upload has not sent a part) or being replaced: no figure rather than a wrong one
    return {};
  }
}

async function progressOf(state: EfsState, target: Target, run: RunRecord): Promise<RunProgress> {
  if (run.kind !== 'backup') {
    const params = jobParamsSchema.safeParse(run.params);
    if (!params.success || run.phase !== 'starting') return {};
    return { downloadedBytes: params.data.bytesDownloaded, downloadTotalBytes: params.data.source.size };
  }
  if (run.phase === 'uploading') return uploadProgress(state, run);
  if (run.phase !== 'running') return {};
  // The job writes dump.<ext>.tmp front to back and renames it to dump.<ext> once its check passed.
  const file = `dump.${extensionFor(target.engine)}`;
  const size = (await state.runFileSize(target.name, run.runId, `${file}.tmp`)) ?? (await state.runFileSize(target.name, run.runId, file));
  return size === null ? {} : { dumpBytes: size };
}

async function currentRun(state: EfsState, target: Target, now: Date): Promise<TargetRunStatus['run']> {
  const file = await state.readRun(target.name, now);
  if (file.state === 'none') return null;
  if (file.state === 'corrupt') return { unreadable: file.reason };
  const r = file.record;
  return {
    kind: r.kind,
    phase: r.phase,
    runId: r.runId,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    slot: r.slot,
    uploadAttempts: r.uploadAttempts,
    lastError: r.lastError,
    progress: await progressOf(state, target, r),
  };
}

function trimmed(result: JobResult | null): JobResult | null {
  if (!result?.problems || result.problems.length <= STATUS_PROBLEMS_KEPT) return result;
  const more = result.problems.length - STATUS_PROBLEMS_KEPT;
  return { ...result, problems: [...result.problems.slice(0, STATUS_PROBLEMS_KEPT), `… and ${more} more`] };
}

/** Reads every target's state from the backup EFS; a target's files are read concurrently. */
export async function readRunStatus(state: EfsState, targets: readonly Target[], now: Date): Promise<TargetRunStatus[]> {
  return Promise.all(
    targets.map(async (target): Promise<TargetRunStatus> => {
      const [run, lastFailure, lastDrill, lastRestore] = await Promise.all([
        currentRun(state, target, now),
        state.readLastFailure(target.name),
        readJobResult(state.root, target.name, 'drill'),
        readJobResult(state.root, target.name, 'restore'),
      ]);
      return { target: target.name, run, lastFailure, lastDrill: trimmed(lastDrill), lastRestore: trimmed(lastRestore) };
    }),
  );
}
