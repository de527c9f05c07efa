import { randomBytes } from 'node:crypto';
import { EfsFullError } from '../../shared/adapters/efs-state.js';
import { lastSuccessfulBackup } from '../../shared/adapters/s3-backups.js';
import type { Target } from '../../shared/config/schema.js';
import { decideRun, STARTING_STALE_MS, type RunAction } from '../../shared/core/decide.js';
import { newRunId, startingRecord, type RunRecord } from '../../shared/core/run-record.js';
import { isDue } from '../../shared/core/schedule.js';
import { buildBackupJob } from '../../shared/core/scripts/jobs.js';
import { errorMessage } from '../../shared/errors.js';
import type { Deps, TargetOutcome } from '../deps.js';
import { failRun } from './fail-run.js';
import { containerRunDir, isJobAlive, jobTarget, launchJob, observeMarker, taskState, type TaskState } from '../jobs/job-runner.js';
import { MAX_UPLOAD_ATTEMPTS, uploadEarlyParts, uploadRun } from './upload-step.js';

/**
 * One target's backup, one step per invocation: decide from what EFS and S3 show, do that step,
 * record it on EFS, so an invocation killed at any point leaves the next one able to carry on.
 */

/** How long past its deadline an invocation may still be running (the handler's safety margin). */
const LEASE_SLACK_MS = 45_000;
/** How often the fast path looks for the marker: one stat on EFS, so often enough that a short dump is not kept waiting. */
const FAST_PATH_POLL_MS = 250;
/** How long a "task still runs" answer is trusted during the fast path. */
const TASK_CHECK_TTL_MS = 15_000;
/** The same for a runner task, whose end is the job's end: asked more often, as the exec job's liveness is not asked at all. */
const RUNNER_TASK_CHECK_TTL_MS = 5_000;
/** How long a "job still lives" answer is trusted during the fast path (each costs an exec). */
const JOB_CHECK_TTL_MS = 30_000;

/** Runs the next step of `target`'s backup; `manual` starts one now, whatever the schedule says. */
export async function runBackup(deps: Deps, target: Target, manual: boolean): Promise<TargetOutcome> {
  const now = deps.now();
  const file = await deps.state.readRun(target.name, now);
  if (file.state === 'corrupt') {
    if (file.ageMs <= STARTING_STALE_MS) return { target: target.name, outcome: 'busy', reason: file.reason };
    deps.telemetry.logger.warn('removing an unreadable run record', { target: target.name, reason: file.reason });
    await deps.state.removeRun(target.name, null);
  } else if (file.state === 'ok') {
    const run = file.record;
    if (run.kind !== 'backup') return { target: target.name, outcome: 'busy', runId: run.runId, reason: `a ${run.kind} is running` };
    const outcome = await continueRun(deps, target, run, null);
    if (outcome !== 'abandoned') return outcome;
  }
  let slot: Date | null = null;
  if (!manual) {
    const [last, failure] = await Promise.all([
      lastSuccessfulBackup(deps.s3, deps.env.bucket, deps.env.keyPrefix, target.name),
      deps.state.readLastFailure(target.name),
    ]);
    const due = isDue({
      schedule: target.schedule,
      timeZone: target.timeZone,
      now,
      lastSuccess: last ? new Date(last.startedAt) : null,
      lastFailedSlot: failure?.slot ? new Date(failure.slot) : null,
    });
    if (!due.due) return { target: target.name, outcome: 'idle', reason: due.reason };
    slot = due.slot;
  }
  return startRun(deps, target, slot);
}

async function startRun(deps: Deps, target: Target, slot: Date | null): Promise<TargetOutcome> {
  const now = deps.now();
  let run = startingRecord({ kind: 'backup', runId: newRunId(now, randomBytes(4).toString('hex')), target: target.name, now, slot });
  if (!(await deps.state.createRun(run))) {
    return { target: target.name, outcome: 'busy', reason: 'another invocation took the lock first' };
  }
  const log = { target: target.name, runId: run.runId };
  try {
    const swept = await deps.state.sweep(target.name, run.runId);
    if (swept.length > 0) deps.telemetry.logger.info('removed leftovers of earlier runs', { ...log, removed: swept });
    const job = buildBackupJob(await jobTarget(deps, target), { runId: run.runId, runDir: containerRunDir(target, run.runId), startedAt: now.toISOString() });
    const started = await launchJob(deps, target, run.runId, job);
    run = { ...run, phase: 'running', task: started.task, pid: started.pid, startedAt: started.startedAt.toISOString() };
    await deps.state.writeRun(run);
  } catch (error) {
    // A job that started but could not be recorded (EFS full) is stopped: nobody would follow it.
    return failRun(deps, target, run, `could not start the dump: ${errorMessage(error)}`, run.pid !== null);
  }
  deps.telemetry.logger.info('dump started', { ...log, task: run.task?.taskId, pid: run.pid, slot: run.slot });
  // FAST_PATH_SECONDS=0 turns the fast path off: the next invocation looks first.
  if (deps.env.fastPathSeconds === 0) return { target: target.name, outcome: 'started', runId: run.runId };
  const fastUntil = Math.min(deps.deadline, now.getTime() + deps.env.fastPathSeconds * 1000);
  const outcome = await continueRun(deps, target, run, fastUntil);
  return outcome === 'abandoned' ? { target: target.name, outcome: 'failed', runId: run.runId, reason: 'run vanished' } : outcome;
}

/** Looks at a run until it needs the next invocation (or, on the fast path, until `fastUntil`) and does its next step. */
async function continueRun(deps: Deps, target: Target, run: RunRecord, fastUntil: number | null): Promise<TargetOutcome | 'abandoned'> {
  // The lease lasts until this Lambda cannot be running any more (its deadline plus the safety margin).
  let leased = false;
  try {
    if (run.phase !== 'starting') {
      leased = await deps.state.takeLease(target.name, run.runId, new Date(deps.deadline + LEASE_SLACK_MS), deps.now());
      if (!leased) return { target: target.name, outcome: 'busy', runId: run.runId, reason: 'another invocation is working on this run' };
      // The record read before the lease may be stale: another invocation may have moved the run on, or ended it
      // (then the lease was free, and failing the ended run would report a false failure and free a new run's lock).
      const current = await deps.state.readRun(target.name, deps.now());
      if (current.state !== 'ok' || current.record.runId !== run.runId) {
        return { target: target.name, outcome: 'busy', runId: run.runId, reason: 'another invocation has ended this run' };
      }
      run = current.record;
    }
    return await stepRun(deps, target, run, fastUntil);
  } catch (error) {
    // A full EFS would fail every hour the same way: end the run, which also frees its space.
    if (error instanceof EfsFullError) return failRun(deps, target, run, error.message, false);
    throw error;
  } finally {
    if (leased) await deps.state.releaseLease(target.name).catch(() => undefined);
  }
}

async function stepRun(deps: Deps, target: Target, run: RunRecord, fastUntil: number | null): Promise<TargetOutcome | 'abandoned'> {
  // Task and job lookups cost an API call or an exec: their answers are reused for a while on the fast path.
  let task: (TaskState & { at: number }) | null = null;
  let job: { alive: boolean; at: number } | null = null;
  let earlyParts = 0;
  const fresh = (o: { at: number } | null, ttl: number) => o !== null && Date.now() - o.at <= ttl;
  const taskTtl = target.mode === 'task' ? RUNNER_TASK_CHECK_TTL_MS : TASK_CHECK_TTL_MS;
  for (;;) {
    const { observation, marker } = await observeMarker(deps, run);
    const action: RunAction = decideRun({
      now: deps.now(),
      run,
      marker: observation,
      dumpTimeoutMinutes: target.dumpTimeoutMinutes,
      maxUploadAttempts: MAX_UPLOAD_ATTEMPTS,
      ...(fresh(task, taskTtl) ? { taskRunning: task!.running, ...(task!.stopped !== undefined ? { taskStopped: task!.stopped } : {}) } : {}),
      ...(fresh(job, JOB_CHECK_TTL_MS) ? { jobAlive: job!.alive } : {}),
    });
    switch (action.action) {
      case 'busy':
        return { target: target.name, outcome: 'busy', runId: run.runId, reason: action.reason };
      case 'abandon':
        deps.telemetry.logger.warn('cleaning up an abandoned run', { target: target.name, runId: run.runId, reason: action.reason });
        await deps.state.removeRun(target.name, run.runId);
        return 'abandoned';
      case 'fail':
        return failRun(deps, target, run, action.reason, action.kill, marker?.stderrTail);
      case 'upload':
        // decideRun only says "upload" for a present, verified marker.
        return uploadRun(deps, target, run, marker!);
      // After a lookup the marker is read again: the job may have finished in between.
      case 'check-task':
        if (fastUntil !== null && Date.now() >= fastUntil) return { target: target.name, outcome: 'started', runId: run.runId };
        task = { ...(await aliveUnlessKnownDead(deps, target, run, 'task', () => taskState(deps, target, run), { running: true })), at: Date.now() };
        continue;
      case 'check-job':
        if (fastUntil !== null && Date.now() >= fastUntil) return { target: target.name, outcome: 'started', runId: run.runId };
        job = { alive: await aliveUnlessKnownDead(deps, target, run, 'job', () => isJobAlive(deps, target, run), true), at: Date.now() };
        continue;
      case 'wait': {
        earlyParts = await uploadEarlyParts(deps, target, run, earlyParts);
        const left = (fastUntil ?? 0) - Date.now();
        if (left <= 0) {
          deps.telemetry.logger.info('dump still running; the next invocation looks again', { target: target.name, runId: run.runId, reason: action.reason });
          return { target: target.name, outcome: fastUntil !== null ? 'started' : 'waiting', runId: run.runId, reason: action.reason };
        }
        await deps.sleep(Math.min(FAST_PATH_POLL_MS, left));
      }
    }
  }
}

/**
 * Asks whether the run's task or job still lives. Not getting an answer (ECS throttling, a network blip, an exec
 * that failed) is not the dump's failure: it counts as alive, and the dump timeout still bounds the run.
 */
async function aliveUnlessKnownDead<T>(deps: Deps, target: Target, run: RunRecord, what: 'task' | 'job', probe: () => Promise<T>, alive: T): Promise<T> {
  try {
    return await probe();
  } catch (error) {
    deps.telemetry.logger.warn(`cannot check the ${what}: ${errorMessage(error)}`, { target: target.name, runId: run.runId });
    return alive;
  }
}
