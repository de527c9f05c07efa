import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import { posix } from 'node:path';
import type { Target } from '../../shared/config/schema.js';
import type { MarkerObservation } from '../../shared/core/decide.js';
import { MARKER_FILE, MarkerError, parseMarker, type Marker } from '../../shared/core/marker.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { buildLaunchScript } from '../../shared/core/scripts/launch.js';
import { shQuote } from '../../shared/core/scripts/quote.js';
import { BackupError, errorMessage } from '../../shared/errors.js';
import { pickTask } from '../../shared/exec/task-picker.js';
import type { Deps } from '../deps.js';

/**
 * The steps every in-container job shares (backup, restore, drill): start a detached job over ECS
 * Exec, look at its marker on EFS, ask ECS whether its task still runs, stop it.
 */

/** The detached job could not be started; nothing runs in the container. */
export class JobStartError extends BackupError {}

/** The container's answer does not say whether the job still lives. */
export class JobCheckError extends BackupError {}

/** How long the launch wrapper may take: it only writes job.sh and forks. */
const LAUNCH_TIMEOUT_MS = 60_000;

/** Where a run directory is inside the container: `<backupDir>/<runId>` (backupDir is where the target's own access point, `<rootPath>/<target>`, is mounted). */
export function containerRunDir(target: Target, runId: string): string {
  return posix.join(target.backupDir, runId);
}

/** A started job: its task, process group id and start time. */
export interface StartedJob {
  task: NonNullable<RunRecord['task']>;
  pid: number;
  startedAt: Date;
}

/** Picks a RUNNING task of the target's service and starts `jobScript` detached in its run directory. */
export async function launchJob(deps: Deps, target: Target, runId: string, jobScript: string): Promise<StartedJob> {
  const picked = await pickTask(deps.tasks ?? deps.ecs, target.cluster, target.service, target.container);
  const result = await deps.exec.run({
    cluster: picked.clusterArn,
    task: picked.taskArn,
    container: target.container,
    script: buildLaunchScript(containerRunDir(target, runId), jobScript),
    timeoutMs: Math.max(5_000, Math.min(LAUNCH_TIMEOUT_MS, deps.deadline - Date.now())),
    maxOutputBytes: 64 * 1024,
  });
  const started = /^started (\d+)\s*$/m.exec(result.output);
  if (result.exitCode !== 0 || !started) {
    const tail = result.output.trim().slice(-500) || '(no output)';
    throw new JobStartError(`the job did not start in task ${picked.taskId} (exit status ${result.exitCode}): ${tail}`);
  }
  return {
    task: { taskArn: picked.taskArn, taskId: picked.taskId, clusterArn: picked.clusterArn, container: target.container },
    pid: Number(started[1]),
    startedAt: deps.now(),
  };
}

/** The marker of a run as the decision sees it, plus the parsed marker when there is one. */
export async function observeMarker(deps: Deps, run: RunRecord): Promise<{ observation: MarkerObservation; marker: Marker | null }> {
  const gz = await deps.state.readRunFile(run.target, run.runId, MARKER_FILE);
  if (gz === null) return { observation: { state: 'absent' }, marker: null };
  let marker: Marker;
  try {
    marker = parseMarker(gz);
  } catch (error) {
    if (error instanceof MarkerError) return { observation: { state: 'corrupt', reason: error.message }, marker: null };
    throw error;
  }
  // marker.file is a basename (the script generator enforces it); anything else is not a file of this run.
  const fileSize = marker.file && !marker.file.includes('/') ? await deps.state.runFileSize(run.target, run.runId, marker.file) : null;
  return {
    observation: { state: 'present', marker: { ...marker, bytes: marker.bytes ?? 0 }, fileSize },
    marker,
  };
}

/** Whether the run's task is still RUNNING (a task ECS no longer knows about is not). */
export async function isTaskRunning(deps: Deps, run: RunRecord): Promise<boolean> {
  if (!run.task) return false;
  const response = await deps.ecs.send(new DescribeTasksCommand({ cluster: run.task.clusterArn, tasks: [run.task.taskArn] }));
  const task = response.tasks?.find((t) => t.taskArn === run.task?.taskArn);
  return task?.lastStatus === 'RUNNING';
}

/** Best effort: stops the job's process group in the container; returns why it could not, or null. */
export async function killJob(deps: Deps, run: RunRecord): Promise<string | null> {
  // A pid of 0 or 1 would make "kill -<pid>" signal far more than the job; the job is never either.
  if (!run.task || run.pid === null || !Number.isInteger(run.pid) || run.pid <= 1) return 'no usable task or pid recorded';
  // setsid made the job a process group leader: signal the group, the process itself as a fallback.
  // dash's kill takes no "--", so the group is written "-<pid>" right after the signal.
  const script = `kill -TERM -${run.pid} 2>/dev/null || kill -TERM ${run.pid} 2>/dev/null; exit 0`;
  try {
    await deps.exec.run({ cluster: run.task.clusterArn, task: run.task.taskArn, container: run.task.container, script, timeoutMs: 30_000 });
    return null;
  } catch (error) {
    return errorMessage(error);
  }
}

/**
 * Whether the job's process still lives in its container: a zombie (state Z: nobody reaped it, e.g. no init
 * process in the task) counts as gone. Throws when the container cannot be asked.
 */
export async function isJobAlive(deps: Deps, run: RunRecord): Promise<boolean> {
  if (!run.task || run.pid === null) return false;
  const pid = shQuote(String(run.pid));
  const script = [
    `if [ -r /proc/${pid}/stat ]; then s=$(sed 's/.*) //' /proc/${pid}/stat | cut -c1); [ "$s" != Z ] && echo job-alive || echo job-gone;`,
    `elif kill -0 ${pid} 2>/dev/null; then echo job-alive; else echo job-gone; fi`,
  ].join('\n');
  const result = await deps.exec.run({ cluster: run.task.clusterArn, task: run.task.taskArn, container: run.task.container, script, timeoutMs: 30_000 });
  if (/job-alive/.test(result.output)) return true;
  if (/job-gone/.test(result.output)) return false;
  throw new JobCheckError(`cannot tell whether job ${run.pid} lives: ${result.output.trim().slice(-200) || '(no output)'}`);
}
