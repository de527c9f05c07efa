import { join } from 'node:path';
import { EfsFullError, UPLOAD_PROGRESS_FILE } from '../../shared/adapters/efs-state.js';
import { openInside, statInside } from '../../shared/adapters/efs-no-follow.js';
import { putManifest } from '../../shared/adapters/s3-backups.js';
import {
  ChecksumMismatchError,
  EmptyFileError,
  planPartSize,
  uploadFileResumable,
  type ChunkHashes,
  type UploadOptions,
} from '../../shared/adapters/s3-transfer.js';
import type { Target } from '../../shared/config/schema.js';
import type { Manifest } from '../../shared/core/manifest.js';
import { CHUNK_BYTES, extensionFor, MarkerError, parseChunkList, type Marker } from '../../shared/core/marker.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { transferBegins, transferProgressed } from '../../shared/core/transfer-progress.js';
import { backupKey, runWeekday, type Weekday } from '../../shared/core/s3-keys.js';
import { errorMessage } from '../../shared/errors.js';
import type { Deps, TargetOutcome } from '../deps.js';
import { failRun } from './fail-run.js';
import { compareWithPrevious, logShrinkage } from './shrink-check.js';

/** Invocations that may hit S3 errors before the run fails (about this many hours of retries). */
export const MAX_UPLOAD_ATTEMPTS = 3;

/** Errors no retry can fix: the bytes on EFS are not the bytes the marker vouched for (or its chunk list), or EFS is full. */
const PERMANENT = [ChecksumMismatchError, EmptyFileError, EfsFullError, MarkerError];

/**
 * Uploads (or resumes uploading) a verified dump to its weekday key, then writes the manifest, emits
 * the success metrics and removes the run. Pauses at the invocation deadline; S3 errors leave the
 * progress on EFS for the next invocation, up to MAX_UPLOAD_ATTEMPTS.
 */
export async function uploadRun(deps: Deps, target: Target, run: RunRecord, marker: Marker): Promise<TargetOutcome> {
  const { key, weekday, startedAt } = destination(deps, target, run);
  if (run.phase !== 'uploading') {
    run = { ...run, phase: 'uploading' };
    await deps.state.writeRun(run);
  }
  const current = run;
  return deps.uploadSlots.use(() => uploadAndRecord(deps, target, current, marker, { key, weekday, startedAt }));
}

/** Where a run's dump goes: the weekday of its slot (runWeekday), never of the upload's end (a dump started Monday stays Monday's). */
function destination(deps: Deps, target: Target, run: RunRecord): { key: string; weekday: Weekday; startedAt: Date } {
  const startedAt = new Date(run.startedAt ?? run.createdAt);
  const weekday = runWeekday({ slot: run.slot, startedAt: startedAt.toISOString() }, target.timeZone);
  return { key: backupKey(deps.env.keyPrefix, target.name, weekday, extensionFor(target.engine)), weekday, startedAt };
}

/** What every upload of a run's dump shares: the key, its progress file on EFS, deadline, part size, metadata, KMS. */
function transferOptions(deps: Deps, target: Target, run: RunRecord, key: string, filePath: string): UploadOptions {
  return {
    s3: deps.s3,
    bucket: deps.env.bucket,
    key,
    filePath,
    progressPath: join(deps.state.runDir(target.name, run.runId), UPLOAD_PROGRESS_FILE),
    // The run directory is the container's to write: nothing in it is opened through a link.
    confineTo: deps.state.targetDir(target.name),
    deadline: deps.deadline,
    partSizeBytes: deps.env.partSizeBytes,
    // Parts are whole chunks of the job's chunk list, also those sent while the dump is still written.
    chunkBytes: CHUNK_BYTES,
    metadata: { 'run-id': run.runId, target: target.name },
    ...(deps.env.kmsKeyArn ? { serverSideEncryption: { kmsKeyId: deps.env.kmsKeyArn } } : {}),
  };
}

/**
 * While the job still writes its dump (append-only: every job writes `dump.<ext>.tmp` front to back), sends the parts
 * already whole, so that after done.gz only the tail is left to upload. Nothing is completed here, and nothing fails
 * the run: uploadRun compares every early part's chunk hashes with the job's chunk list (without one, with the finished
 * file) and sends again what differs. Runs only when an upload slot is free, so early parts never add to the Lambda's
 * memory. Returns the whole parts seen, for the next call.
 */
export async function uploadEarlyParts(deps: Deps, target: Target, run: RunRecord, wholeBefore: number): Promise<number> {
  const { key } = destination(deps, target, run);
  const runDir = deps.state.runDir(target.name, run.runId);
  const filePath = join(runDir, `dump.${extensionFor(target.engine)}.tmp`);
  const size = (await statInside(deps.state.targetDir(target.name), filePath).catch(() => null))?.size ?? 0;
  // Only when another part became whole since the last look: each call costs S3 requests and an EFS write.
  const whole = Math.floor(size / planPartSize(0, deps.env.partSizeBytes, CHUNK_BYTES));
  if (whole <= wholeBefore) return wholeBefore;
  const log = { target: target.name, runId: run.runId, key };
  try {
    const result = await deps.uploadSlots.tryUse(() =>
      uploadFileResumable({ ...transferOptions(deps, target, run, key, filePath), growing: true }),
    );
    if (result?.status === 'paused' && result.partsDone > 0) {
      deps.telemetry.logger.info('parts of the growing dump sent early', { ...log, parts: result.partsDone });
    }
  } catch (error) {
    // The job renames its finished dump (or removes a failed one) whenever it is done: then the file is gone, as expected.
    if (isMissingFile(error)) {
      deps.telemetry.logger.debug('the growing dump was renamed or removed by its job; the upload after done.gz sends the rest', log);
    } else {
      deps.telemetry.logger.warn('sending parts of the growing dump failed; the upload after done.gz sends them', { ...log, error: errorMessage(error) });
    }
  }
  return whole;
}

async function uploadAndRecord(
  deps: Deps,
  target: Target,
  run: RunRecord,
  marker: Marker,
  where: { key: string; weekday: Weekday; startedAt: Date },
): Promise<TargetOutcome> {
  const { key } = where;
  const log = { target: target.name, runId: run.runId, key };
  const runDir = deps.state.runDir(target.name, run.runId);
  const t0 = Date.now();
  const retryLater = async (error: unknown, what: string): Promise<TargetOutcome> => {
    const attempts = run.uploadAttempts + 1;
    const reason = `${what} failed (attempt ${attempts} of ${MAX_UPLOAD_ATTEMPTS}): ${errorMessage(error)}`;
    run = { ...run, uploadAttempts: attempts, lastError: errorMessage(error), uploadMs: run.uploadMs + (Date.now() - t0) };
    if (attempts >= MAX_UPLOAD_ATTEMPTS || PERMANENT.some((E) => error instanceof E)) return failRun(deps, target, run, reason, false);
    await deps.state.writeRun(run);
    deps.telemetry.logger.warn(`${reason}; the next invocation resumes it`, log);
    return { target: target.name, outcome: 'uploading', runId: run.runId, key, reason };
  };

  if (run.uploaded === null) {
    // Recorded before the work, so an invocation the Lambda timeout kills counts too (decideRun ends a stuck upload).
    const transfer = transferBegins(run.transfer, deps.now());
    run = { ...run, transfer };
    await deps.state.writeRun(run);
    let result;
    try {
      const chunks = await readChunkList(deps.state.targetDir(target.name), runDir, marker);
      result = await uploadFileResumable({
        ...transferOptions(deps, target, run, key, join(runDir, marker.file ?? '')),
        expectedSha256: marker.sha256,
        ...(chunks ? { chunks } : {}),
      });
    } catch (error) {
      return retryLater(error, `upload to ${key}`);
    }
    if (result.status === 'paused') {
      await deps.state.writeRun({ ...run, transfer: transferProgressed(transfer, result.partsDone), uploadMs: run.uploadMs + (Date.now() - t0) });
      deps.telemetry.logger.info('upload paused at the invocation deadline', { ...log, partsDone: result.partsDone, partsTotal: result.partsTotal });
      return { target: target.name, outcome: 'uploading', runId: run.runId, key, reason: `${result.partsDone}/${result.partsTotal} parts` };
    }
    run = {
      ...run,
      uploaded: { key, size: result.size, sha256: result.sha256, versionId: result.versionId },
      uploadMs: run.uploadMs + (Date.now() - t0),
    };
    await deps.state.writeRun(run);
    deps.telemetry.logger.info('dump uploaded', { ...log, size: result.size, sha256: result.sha256, resumed: result.resumed, parts: result.parts, chunkList: marker.chunks != null });
  }
  const uploaded = run.uploaded!;
  let shrank;
  try {
    shrank = await compareWithPrevious(deps, target, { size: uploaded.size, counts: marker.counts });
  } catch (error) {
    return retryLater(error, 'reading the previous backup to compare with');
  }
  // The container stamps endedAt to the millisecond where its date can (busybox: to the second), the orchestrator its startedAt to the millisecond: clamp at 0.
  const dumpSeconds = Math.max(0, (Date.parse(marker.endedAt) - Date.parse(marker.startedAt)) / 1000);
  const uploadSeconds = run.uploadMs / 1000;
  const manifest: Manifest = {
    version: 1,
    target: target.name,
    engine: target.engine,
    key,
    weekday: where.weekday,
    size: uploaded.size,
    sha256: uploaded.sha256,
    toolVersion: marker.toolVersion,
    runId: run.runId,
    sourceTask: run.task?.taskArn ?? '',
    // The schedule compares the last success with its slots on the orchestrator's clock, so this is the run's start.
    startedAt: where.startedAt.toISOString(),
    dumpEndedAt: isoOr(marker.endedAt, deps.now()),
    uploadedAt: deps.now().toISOString(),
    checks: marker.steps.map((s) => ({ name: s.name, status: s.status })),
    counts: marker.counts,
    objectVersionId: uploaded.versionId,
    ...(Number.isFinite(dumpSeconds) ? { dumpSeconds } : {}),
    uploadSeconds,
    ...(shrank ? { shrank } : {}),
  };
  try {
    await putManifest(deps.s3, deps.env.bucket, deps.env.keyPrefix, manifest, deps.env.kmsKeyArn ? { kmsKeyId: deps.env.kmsKeyArn } : {});
  } catch (error) {
    return retryLater(error, `writing the manifest of ${key}`);
  }
  deps.telemetry.emit(target.name, {
    BackupSuccess: 1,
    BackupBytes: uploaded.size,
    DumpSeconds: Number.isFinite(dumpSeconds) ? dumpSeconds : undefined,
    UploadSeconds: uploadSeconds,
    BackupShrank: shrank ? 1 : 0,
  });
  if (shrank) logShrinkage(deps, log, shrank);
  deps.telemetry.logger.info('backup succeeded', { ...log, size: uploaded.size, sha256: uploaded.sha256, versionId: uploaded.versionId });
  const floats = marker.counts?.floatColumns ?? [];
  if (floats.length > 0) deps.telemetry.logger.warn(`FLOAT columns keep only about 6 significant digits through the dump tool: ${floats.slice(0, 20).join(', ')}; use DOUBLE or DECIMAL to keep every digit`, log);
  await deps.state.removeRun(target.name, run.runId);
  return { target: target.name, outcome: 'succeeded', runId: run.runId, key };
}

/** Whether an error (or the error it wraps) is a file that does not exist. */
function isMissingFile(error: unknown): boolean {
  const code = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;
  return code(error) === 'ENOENT' || code((error as { cause?: unknown } | undefined)?.cause) === 'ENOENT';
}

/** Upper bound of a chunk list file: 5 TiB of 8 MiB chunks; a larger one is not read (it cannot be the job's). */
const MAX_CHUNK_LIST_BYTES = Math.ceil((5 * 1024 ** 4) / CHUNK_BYTES) * 65;

/** The job's per-chunk sha256s of the dump, read from the file its marker names and checked against the marker; null without one. */
async function readChunkList(targetDir: string, runDir: string, marker: Marker): Promise<ChunkHashes | null> {
  const entry = marker.chunks;
  if (!entry) return null;
  const fh = await openInside(targetDir, join(runDir, entry.file)).catch((error: unknown) => {
    if (isMissingFile(error)) throw new MarkerError(`chunk list ${entry.file}, named by the marker, is missing from the run directory`, { cause: error });
    throw error;
  });
  try {
    const { size } = await fh.stat();
    if (size > MAX_CHUNK_LIST_BYTES) throw new MarkerError(`chunk list ${entry.file} is ${size} bytes, more than a 5 TiB dump needs`);
    return { chunkBytes: entry.chunkBytes, sha256: parseChunkList(await fh.readFile(), entry, marker.bytes ?? 0) };
  } finally {
    await fh.close();
  }
}

function isoOr(value: string, fallback: Date): string {
  const t = Date.parse(value);
  return new Date(Number.isNaN(t) ? fallback.getTime() : t).toISOString();
}
