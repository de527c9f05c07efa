import type { ECSClient, Task } from '@aws-sdk/client-ecs';
import { describeServiceTasks, type TaskSource } from './service-tasks.js';
import { AgentNotRunningError, ExecNotEnabledError, NoRunningTaskError } from './errors.js';

/** A task (and container) that ECS Exec can run a command in right now. */
export interface PickedTask {
  taskArn: string;
  taskId: string;
  clusterArn: string;
  container: string;
  /** The container's runtime id (needed by KMS sessions as part of the SSM target id). */
  runtimeId?: string;
  startedAt?: Date;
}

/**
 * The RUNNING task of the service that has run longest, among those whose container's ExecuteCommandAgent is
 * RUNNING. Longest, not newest: during a rolling deploy (or after a task was replaced) the newest task may be a
 * freshly initialised instance, an empty database on a new volume or a replica still catching up, and its near-empty
 * dump would become the backup; the task that has served longest is the one the service's data lives in. Tasks
 * without a start time come last. `from`: an ECS client (asks ECS now) or a TaskSource (one invocation's cache,
 * service-tasks.ts).
 */
export async function pickTask(from: ECSClient | TaskSource, cluster: string, service: string, container: string): Promise<PickedTask> {
  const running = await runningTasksLongestFirst(from, cluster, service);
  const where = `service ${service} in cluster ${cluster}`;
  if (running.length === 0) {
    throw new NoRunningTaskError(`${where} has no RUNNING task; start the service (desired count ≥ 1) and wait for a task to run`);
  }
  const skipped = { notEnabled: 0, noContainer: 0, agentDown: 0 };
  for (const task of running) {
    if (task.enableExecuteCommand === false) {
      skipped.notEnabled++;
      continue;
    }
    const found = task.containers?.find((c) => c.name === container);
    if (!found) {
      skipped.noContainer++;
      continue;
    }
    if (!execAgentRunning(task, container)) {
      skipped.agentDown++;
      continue;
    }
    const taskArn = task.taskArn as string;
    return {
      taskArn,
      taskId: taskArn.slice(taskArn.lastIndexOf('/') + 1),
      clusterArn: task.clusterArn ?? cluster,
      container,
      ...(found.runtimeId ? { runtimeId: found.runtimeId } : {}),
      ...(task.startedAt ? { startedAt: task.startedAt } : {}),
    };
  }
  if (skipped.agentDown > 0) {
    throw new AgentNotRunningError(
      `no RUNNING task of ${where} has a running ECS Exec agent in container ${container} (${skipped.agentDown} waiting); wait a minute after the task starts, or check the task role's ssmmessages permissions`,
    );
  }
  if (skipped.notEnabled > 0 && skipped.noContainer === 0) {
    throw new ExecNotEnabledError(
      `ECS Exec is not enabled on the RUNNING tasks of ${where}; set enableExecuteCommand: true on the service and force a new deployment`,
    );
  }
  throw new NoRunningTaskError(`no RUNNING task of ${where} has a container named ${container}; check the container name in the configuration`);
}

/** The service's RUNNING tasks (described), the one that has run longest first: the order pickTask tries them in. */
export async function runningTasksLongestFirst(from: ECSClient | TaskSource, cluster: string, service: string): Promise<Task[]> {
  const tasks = 'running' in from ? await from.running(cluster, service) : await describeServiceTasks(from, cluster, service);
  return tasks.filter((t) => t.lastStatus === 'RUNNING' && t.taskArn).sort((a, b) => timeOf(a) - timeOf(b));
}

/** Whether the named container of the task reports its ExecuteCommandAgent RUNNING. */
export function execAgentRunning(task: Task, container: string): boolean {
  const found = task.containers?.find((c) => c.name === container);
  return found?.managedAgents?.find((a) => a.name === 'ExecuteCommandAgent')?.lastStatus === 'RUNNING';
}

function timeOf(task: Task): number {
  return (task.startedAt ?? task.createdAt)?.getTime() ?? Number.POSITIVE_INFINITY;
}
