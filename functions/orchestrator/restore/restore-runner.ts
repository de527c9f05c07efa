import { mkdir } from 'node:fs/promises';
import { chmodInside } from '../../shared/adapters/efs-no-follow.js';
import { join } from 'node:path';
import { ChecksumMismatchError, downloadFileResumable } from '../../shared/adapters/s3-transfer.js';
import type { Target } from '../../shared/config/schema.js';
import { decideRun } from '../../shared/core/decide.js';
import type { Marker } from '../../shared/core/marker.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { transferBegins, transferProblem, transferProgressed } from '../../shared/core/transfer-progress.js';
import { errorMessage } from '../../shared/errors.js';
import type { Deps } from '../deps.js';
import { isJobAlive, jobTarget, launchJob, observeMarker, taskState, type TaskState } from '../jobs/job-runner.js';
import { sourceBucket } from './restore-bucket.js';
import { jobParams, type JobParams } from './restore-state.js';

/**
 * The steps restores and drills share, one invocation at a time: download the pinned object into the
 * run directory on EFS (resumable, sha256 checked), launch the engine's job detached over ECS Exec,
 * then watch its done.gz marker. The run record stays in phase `starting` while downloading (a backup
 * seeing it reports the target busy) and moves to `running` once the job started.
 */

/** Invocations that may hit S3 errors while downloading before the run fails. */
export const MAX_DOWNLOAD_ATTEMPTS = 3;
/** Name of the download progress file in the run directory. */
export const DOWNLOAD_PROGRESS_FILE = 'download.json';
/** How often a waiting invocation looks for the marker. */
const POLL_MS = 2_000;
/** How long a "task runs" / "job lives" answer is trusted while waiting. */
const CHECK_TTL_MS = 30_000;
/** A lease outlives its invocation's deadline by this much (the deadline already keeps a safety margin). */
const LEASE_GRACE_MS = 60_000;

/** Where a restore or drill run stands after this invocation's work on it. */
export type JobStep =
  | { state: 'busy'; reason: string }
  | { state: 'downloading'; run: RunRecord; reason?: string }
  | { state: 'running'; run: RunRecord; reason: string }
  | { state: 'finished'; run: RunRecord; marker: Marker }
  | { state: 'failed'; run: RunRecord; reason: string; kill: boolean; stderrTail?: string };

/** Builds the in-container job of a run once its file is downloaded. */
export type JobBuilder = (run: RunRecord, params: JobParams, jobTarget: Target) => string;

/** How long this invocation may work on a run (epoch ms): downloading, and waiting for the job's marker. */
export interface JobBudget {
  downloadUntil: number;
  waitUntil: number;
}

/** Runs (or carries on) a restore/drill until it needs a later invocation, its budget is spent, or it ends. */
export async function advanceJob(deps: Deps, target: Target, run: RunRecord, build: JobBuilder, budget: JobBudget): Promise<JobStep> {
  if (run.phase === 'starting') {
    const step = await downloadAndLaunch(deps, target, run, build, budget.downloadUntil);
    // Like a backup's fast path set to 0: a job just started is looked at by the next invocation.
    if (step.state !== 'running' || Date.now() >= budget.waitUntil) return step;
    run = step.run;
  }
  try {
    return await watchJob(deps, target, run, budget.waitUntil);
  } catch (error) {
    // The job runs on in its container: a failed look (ECS throttling, a network blip) is not its failure, and
    // ending the run here would free the target's lock under it. The job timeout still ends a run that stays stuck.
    const reason = `could not look at the ${run.kind} job: ${errorMessage(error)}; the next invocation looks again`;
    deps.telemetry.logger.warn(reason, { target: target.name, runId: run.runId });
    return { state: 'running', run, reason };
  }
}

async function downloadAndLaunch(deps: Deps, target: Target, run: RunRecord, build: JobBuilder, until: number): Promise<JobStep> {
  const params = jobParams(run);
  const runDir = deps.state.runDir(target.name, run.runId);
  const log = { target: target.name, runId: run.runId, kind: run.kind };
  // The container (another uid than the Lambda's) writes its log and marker here; the target's directory around it is
  // its own (0700), so 0777 opens it to nobody else. Set through a descriptor: a link planted in its place is refused.
  await mkdir(runDir, { recursive: true });
  await chmodInside(deps.state.targetDir(target.name), runDir, 0o777, 'directory');
  if (!(await deps.state.takeLease(target.name, run.runId, new Date(deps.deadline + LEASE_GRACE_MS), new Date()))) {
    return { state: 'busy', reason: `another invocation is downloading ${params.source.key} for run ${run.runId}` };
  }
  try {
    // Another invocation may have finished this step between our read of run.json and the lease.
    const now = await deps.state.readRun(target.name, deps.now());
    if (now.state !== 'ok' || now.record.runId !== run.runId || now.record.phase !== 'starting') {
      return { state: 'busy', reason: `run ${run.runId} was moved on by another invocation` };
    }
    const stuck = transferProblem(run.transfer, deps.now(), 'download');
    if (stuck !== null) return { state: 'failed', run, reason: stuck, kill: false };
    // Recorded before the work, so an invocation the Lambda timeout kills counts too.
    const transfer = transferBegins(run.transfer, deps.now());
    run = { ...run, transfer };
    await deps.state.writeRun(run);
    // Throws for a bucket the deployment does not name (a changed run record): the run fails, nothing is read.
    const from = sourceBucket(deps, params.from);
    let result;
    try {
      result = await downloadFileResumable({
        s3: from.s3,
        bucket: from.bucket,
        key: params.source.key,
        ...(params.source.versionId ? { versionId: params.source.versionId } : {}),
        filePath: join(runDir, params.file),
        progressPath: join(runDir, DOWNLOAD_PROGRESS_FILE),
        confineTo: deps.state.targetDir(target.name),
        expectedSha256: params.source.sha256,
        deadline: Math.min(until, deps.deadline),
      });
    } catch (error) {
      // A corrupt object stays corrupt: no retry.
      if (error instanceof ChecksumMismatchError) return { state: 'failed', run, reason: errorMessage(error), kill: false };
      const attempts = run.uploadAttempts + 1;
      const reason = `downloading s3://${from.bucket}/${params.source.key} failed (attempt ${attempts} of ${MAX_DOWNLOAD_ATTEMPTS}): ${errorMessage(error)}`;
      if (attempts >= MAX_DOWNLOAD_ATTEMPTS) return { state: 'failed', run, reason, kill: false };
      run = { ...run, uploadAttempts: attempts, lastError: errorMessage(error) };
      await deps.state.writeRun(run);
      deps.telemetry.logger.warn(`${reason}; the next invocation resumes it`, log);
      return { state: 'downloading', run, reason };
    }
    if (result.status === 'paused') {
      run = { ...run, transfer: transferProgressed(transfer, result.bytes), params: { ...params, bytesDownloaded: result.bytes } };
      await deps.state.writeRun(run);
      deps.telemetry.logger.info('download paused; the next invocation resumes it', { ...log, bytes: result.bytes, size: params.source.size });
      return { state: 'downloading', run };
    }
    await chmodInside(deps.state.targetDir(target.name), join(runDir, params.file), 0o644, 'file');
    deps.telemetry.logger.info('backup downloaded and verified', { ...log, key: params.source.key, versionId: params.source.versionId, size: result.size, sha256: result.sha256 });
    const downloaded = { ...run, params: { ...params, bytesDownloaded: result.size } };
    try {
      const started = await launchJob(deps, target, run.runId, build(downloaded, params, await jobTarget(deps, target)));
      run = { ...downloaded, phase: 'running', task: started.task, pid: started.pid, startedAt: started.startedAt.toISOString() };
    } catch (error) {
      return { state: 'failed', run: downloaded, reason: `could not start the ${run.kind} job: ${errorMessage(error)}`, kill: false };
    }
    try {
      await deps.state.writeRun(run);
    } catch (error) {
      // A job nobody can find again must not run on: stop it (run holds its task and pid).
      return { state: 'failed', run, reason: `the ${run.kind} job started but could not be recorded: ${errorMessage(error)}`, kill: true };
    }
    deps.telemetry.logger.info(`${run.kind} job started`, { ...log, task: run.task?.taskId, pid: run.pid });
    return { state: 'running', run, reason: 'job started' };
  } finally {
    await deps.state.releaseLease(target.name).catch(() => undefined);
  }
}

/** An ending run is finished by one invocation only (releasing the run's lock drops the lease too). */
async function claimEnd(deps: Deps, run: RunRecord, step: Extract<JobStep, { state: 'finished' | 'failed' }>): Promise<JobStep> {
  const busy: JobStep = { state: 'busy', reason: `another invocation is finishing run ${run.runId}` };
  if (!(await deps.state.takeLease(run.target, run.runId, new Date(deps.deadline + LEASE_GRACE_MS), new Date()))) return busy;
  // The lease is free again once another invocation has ended the run (and maybe a new run took the lock): ending it
  // twice would release the new run's lock.
  const now = await deps.state.readRun(run.target, deps.now());
  if (now.state === 'ok' && now.record.runId === run.runId) return step;
  await deps.state.releaseLease(run.target).catch(() => undefined);
  return busy;
}

async function watchJob(deps: Deps, target: Target, run: RunRecord, until: number): Promise<JobStep> {
  let task: TaskState | undefined;
  let jobAlive: boolean | undefined;
  let checkedAt = 0;
  for (;;) {
    // Task and job answers cost an API call or an exec: they are trusted for a while, then asked again.
    if (Date.now() - checkedAt > CHECK_TTL_MS) {
      task = undefined;
      jobAlive = undefined;
    }
    const { observation, marker } = await observeMarker(deps, run);
    if (observation.state === 'present' && marker) {
      if (marker.runId !== run.runId) return claimEnd(deps, run, { state: 'failed', run, reason: `marker belongs to run ${marker.runId}, not ${run.runId}`, kill: false });
      return claimEnd(deps, run, { state: 'finished', run, marker });
    }
    // Without a marker the decision is the backup's: timeout, task gone, job killed, or wait.
    const action = decideRun({
      now: deps.now(),
      run,
      marker: observation,
      dumpTimeoutMinutes: target.dumpTimeoutMinutes,
      maxUploadAttempts: MAX_DOWNLOAD_ATTEMPTS,
      ...(task !== undefined ? { taskRunning: task.running, ...(task.stopped !== undefined ? { taskStopped: task.stopped } : {}) } : {}),
      ...(jobAlive !== undefined ? { jobAlive } : {}),
    });
    switch (action.action) {
      case 'fail':
        return claimEnd(deps, run, { state: 'failed', run, reason: action.reason, kill: action.kill });
      case 'check-task':
        task = await taskState(deps, target, run);
        checkedAt = Date.now();
        continue;
      case 'check-job':
        try {
          jobAlive = await isJobAlive(deps, target, run);
        } catch (error) {
          deps.telemetry.logger.warn(`cannot check the job: ${errorMessage(error)}`, { target: target.name, runId: run.runId });
          jobAlive = true;
        }
        continue;
      case 'wait':
        if (Date.now() >= Math.min(until, deps.deadline)) return { state: 'running', run, reason: action.reason.replace(/^dump/, `${run.kind} job`) };
        await deps.sleep(Math.min(POLL_MS, Math.min(until, deps.deadline) - Date.now()));
        continue;
      default:
        return { state: 'failed', run, reason: `unexpected decision "${action.action}" for a ${run.kind} run`, kill: false };
    }
  }
}
