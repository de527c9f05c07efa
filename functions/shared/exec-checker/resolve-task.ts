import type { ECSClient } from '@aws-sdk/client-ecs';
import { execAgentRunning, runningTasksLongestFirst } from '../exec/task-picker.js';
import { ExecCheckError } from './errors.js';

/**
 * The ARN of the RUNNING task of `service` the orchestrator would pick (pickTask: the one that has run longest
 * among those whose agent in `container` runs), so the checks look at the task the backups use; when no agent
 * runs, the longest-running task, whose checks then say why.
 */
export async function orchestratorTask(ecs: ECSClient, cluster: string, service: string, container: string): Promise<string> {
  const running = await runningTasksLongestFirst(ecs, cluster, service);
  const task = running.find((t) => execAgentRunning(t, container)) ?? running[0];
  if (task?.taskArn === undefined) {
    throw new ExecCheckError(
      `service ${service} in cluster ${cluster} has no RUNNING task: start it (desired count ≥ 1) or pass --task`,
    );
  }
  return task.taskArn;
}
