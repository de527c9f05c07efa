import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import type { Target } from '../../shared/config/schema.js';
import { execPlacement } from '../../shared/config/target-mode.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { buildLaunchScript } from '../../shared/core/scripts/launch.js';
import { shQuote } from '../../shared/core/scripts/quote.js';
import { BackupError, errorMessage } from '../../shared/errors.js';
import { pickTask } from '../../shared/exec/task-picker.js';
import type { Deps } from '../deps.js';
import { containerRunDir, JobStartError, type StartedJob, type TaskState } from './job.js';

/**
 * The exec job runner: starts the job detached inside the database's own container over ECS Exec, asks ECS
 * whether that task still runs and the container whether the job's process lives, and stops it with kill.
 */

/** The container's answer does not say whether the job still lives. */
export class JobCheckError extends BackupError {}

/** How long the launch wrapper may take: it only writes job.sh and forks. */
const LAUNCH_TIMEOUT_MS = 60_000;

/** Picks a RUNNING task of the target's service and starts `jobScript` detached in its run directory. */
export async function launchExecJob(deps: Deps, target: Target, runId: string, jobScript: string): Promise<StartedJob> {
  const { service, container } = execPlacement(target);
  const picked = await pickTask(deps.tasks ?? deps.ecs, target.cluster, service, container);
  const result = await deps.exec.run({
    cluster: picked.clusterArn,
    task: picked.taskArn,
    container,
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
    task: { taskArn: picked.taskArn, taskId: picked.taskId, clusterArn: picked.clusterArn, container },
    pid: Number(started[1]),
    startedAt: deps.now(),
  };
}

/** Whether the service task the job runs in is still RUNNING (a task ECS no longer knows about is not). */
export async function execTaskState(deps: Deps, run: RunRecord): Promise<TaskState> {
  if (!run.task) return { running: false };
  const response = await deps.ecs.send(new DescribeTasksCommand({ cluster: run.task.clusterArn, tasks: [run.task.taskArn] }));
  const task = response.tasks?.find((t) => t.taskArn === run.task?.taskArn);
  return { running: task?.lastStatus === 'RUNNING' };
}

/** Best effort: stops the job's process group in the container; returns why it could not, or null. */
export async function killExecJob(deps: Deps, run: RunRecord): Promise<string | null> {
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
export async function isExecJobAlive(deps: Deps, run: RunRecord): Promise<boolean> {
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
