import type { Target } from '../../shared/config/schema.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import type { Deps } from '../deps.js';
import { execTaskState, isExecJobAlive, killExecJob, launchExecJob } from './exec-job-runner.js';
import type { StartedJob, TaskState } from './job.js';
import { launchTaskJob, runnerTaskState, stopTaskJob, taskJobTarget } from './task-job-runner.js';

/**
 * The two ways to run a job, behind one set of steps the workflows (backup, restore, drill) call: mode "exec"
 * targets run it in their own container over ECS Exec (exec-job-runner.ts), mode "task" targets in a runner
 * task of their own (task-job-runner.ts).
 */

export { containerRunDir, observeMarker, JobStartError, type StartedJob, type TaskState } from './job.js';

/** The target its job is built for: as configured (exec), or with the connection from its secret (task). */
export async function jobTarget(deps: Deps, target: Target): Promise<Target> {
  return target.mode === 'task' ? taskJobTarget(deps, target) : target;
}

/** Starts `jobScript` for the run. */
export function launchJob(deps: Deps, target: Target, runId: string, jobScript: string): Promise<StartedJob> {
  return target.mode === 'task' ? launchTaskJob(deps, target, runId, jobScript) : launchExecJob(deps, target, runId, jobScript);
}

/** Whether the job's task still runs, and why it stopped. */
export function taskState(deps: Deps, target: Target, run: RunRecord): Promise<TaskState> {
  return target.mode === 'task' ? runnerTaskState(deps, run) : execTaskState(deps, run);
}

/**
 * Whether the job's process still lives (asked once its task runs). A runner task's job is the task's command, so
 * it lives while the task runs: no second look.
 */
export async function isJobAlive(deps: Deps, target: Target, run: RunRecord): Promise<boolean> {
  return target.mode === 'task' ? true : isExecJobAlive(deps, run);
}

/** Best effort: stops the job; returns why it could not, or null. */
export function stopJob(deps: Deps, target: Target, run: RunRecord, reason: string): Promise<string | null> {
  return target.mode === 'task' ? stopTaskJob(deps, run, reason) : killExecJob(deps, run);
}
