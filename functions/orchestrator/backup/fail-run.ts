import { join } from 'node:path';
import { UPLOAD_PROGRESS_FILE } from '../../shared/adapters/efs-state.js';
import { abortUpload } from '../../shared/adapters/s3-transfer.js';
import type { Target } from '../../shared/config/schema.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { errorMessage } from '../../shared/errors.js';
import type { Deps, TargetOutcome } from '../deps.js';
import { stopJob } from '../jobs/job-runner.js';

/**
 * Ends a failed backup run (restores and drills end in restore/restore-finish.ts): one error log line with the
 * reason, the BackupFailure metric, the job stopped when it may still run, an unfinished multipart upload
 * aborted, the run directory removed, the failed slot recorded (so it is not retried every hour) and the
 * lock released last. S3 objects are never touched.
 */
export async function failRun(
  deps: Deps,
  target: Target,
  run: RunRecord,
  reason: string,
  kill: boolean,
  stderrTail?: string,
): Promise<TargetOutcome> {
  const log = { target: target.name, runId: run.runId, kind: run.kind, phase: run.phase, slot: run.slot };
  deps.telemetry.logger.error(`${run.kind} failed: ${reason}`, { ...log, reason, ...(stderrTail ? { stderrTail } : {}) });
  deps.telemetry.emit(target.name, { BackupFailure: 1 });
  const problems: string[] = [];
  if (kill) {
    const problem = await stopJob(deps, target, run, reason);
    if (problem) problems.push(`could not stop the job: ${problem}`);
  }
  const progressPath = join(deps.state.runDir(target.name, run.runId), UPLOAD_PROGRESS_FILE);
  await abortUpload(deps.s3, deps.env.bucket, progressPath, deps.state.targetDir(target.name)).catch((e: unknown) => problems.push(`could not abort the upload: ${errorMessage(e)}`));
  await deps.state.removeRunDir(target.name, run.runId).catch((e: unknown) => problems.push(`could not remove the run directory: ${errorMessage(e)}`));
  await deps.state
    .writeLastFailure(target.name, { runId: run.runId, slot: run.slot, at: deps.now().toISOString(), reason })
    .catch((e: unknown) => problems.push(`could not record the failure: ${errorMessage(e)}`));
  await deps.state.releaseRun(target.name).catch((e: unknown) => problems.push(`could not release the lock: ${errorMessage(e)}`));
  if (problems.length > 0) deps.telemetry.logger.warn('cleanup after the failure was incomplete', { ...log, problems });
  return { target: target.name, outcome: 'failed', runId: run.runId, reason };
}
