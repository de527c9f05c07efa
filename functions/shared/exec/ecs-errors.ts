import { DescribeTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { errorMessage } from '../errors.js';
import {
  AgentNotRunningError,
  ExecAccessDeniedError,
  ExecError,
  ExecNotEnabledError,
  TargetNotConnectedError,
  TaskNotFoundError,
} from './errors.js';

/** Where an ExecuteCommand call was aimed, for messages and for the follow-up DescribeTasks. */
export interface ExecTarget {
  cluster: string;
  task: string;
  container: string;
}

/** True for the error ECS returns while the agent in the task is not (yet) connected: worth retrying. */
export function isTargetNotConnected(error: unknown): boolean {
  return errorName(error) === 'TargetNotConnectedException';
}

/**
 * Turns an ExecuteCommand failure into a typed ExecError that says what to do. ECS puts "not enabled" and
 * "agent isn't running" into one message, so that case asks DescribeTasks which of the two it is.
 */
export async function mapExecuteCommandError(ecs: ECSClient, target: ExecTarget, error: unknown): Promise<ExecError> {
  const where = `container ${target.container} of task ${target.task} in cluster ${target.cluster}`;
  const name = errorName(error);
  const message = errorMessage(error);
  const options = { cause: error };
  if (name === 'TargetNotConnectedException') {
    return new TargetNotConnectedError(
      `ECS could not reach the exec agent of ${where} (${message}); check that the task role allows ssmmessages:CreateControlChannel/CreateDataChannel/OpenControlChannel/OpenDataChannel and that the task can reach ssmmessages (NAT or VPC endpoint)`,
      options,
    );
  }
  if (name === 'AccessDeniedException') {
    return new ExecAccessDeniedError(`not allowed to run ecs:ExecuteCommand on ${where} (${message}); grant ecs:ExecuteCommand on the cluster and task/${target.cluster}/* to the caller`, options);
  }
  if (name === 'ClusterNotFoundException') {
    return new TaskNotFoundError(`cluster ${target.cluster} was not found (${message}); check the cluster name and the region`, options);
  }
  if (/not found|does not exist|is stopped|not running/i.test(message) && !/agent/i.test(message)) {
    return new TaskNotFoundError(`${where} was not found or is not running (${message}); pick a RUNNING task of the service`, options);
  }
  const notEnabled = /execute command was not enabled/i.test(message);
  const agentDown = /agent isn't running|agent is not running/i.test(message);
  if (notEnabled && agentDown) return (await diagnose(ecs, target, where, options)) ?? notEnabledError(where, message, options);
  if (notEnabled) return notEnabledError(where, message, options);
  if (agentDown) return agentError(where, message, options);
  return new ExecError(`ecs:ExecuteCommand on ${where} failed: ${message}`, options);
}

async function diagnose(ecs: ECSClient, target: ExecTarget, where: string, options: { cause: unknown }): Promise<ExecError | undefined> {
  try {
    const { tasks = [], failures = [] } = await ecs.send(new DescribeTasksCommand({ cluster: target.cluster, tasks: [target.task] }));
    const task = tasks[0];
    if (!task) {
      const reason = failures[0]?.reason ?? 'MISSING';
      return new TaskNotFoundError(`${where} was not found (${reason}); pick a RUNNING task of the service`, options);
    }
    if (task.lastStatus && task.lastStatus !== 'RUNNING') {
      return new TaskNotFoundError(`task ${target.task} is ${task.lastStatus}, not RUNNING; pick a RUNNING task of the service`, options);
    }
    if (task.enableExecuteCommand === false) return notEnabledError(where, 'enableExecuteCommand is false on the task', options);
    const container = task.containers?.find((c) => c.name === target.container);
    if (!container) return new TaskNotFoundError(`task ${target.task} has no container named ${target.container}; check the container name in the configuration`, options);
    const agent = container.managedAgents?.find((a) => a.name === 'ExecuteCommandAgent');
    if (agent?.lastStatus !== 'RUNNING') return agentError(where, `ExecuteCommandAgent is ${agent?.lastStatus ?? 'absent'}${agent?.reason ? `: ${agent.reason}` : ''}`, options);
    return undefined;
  } catch {
    return undefined;
  }
}

function notEnabledError(where: string, detail: string, options: { cause: unknown }): ExecNotEnabledError {
  return new ExecNotEnabledError(
    `ECS Exec is not enabled for ${where} (${detail}); set enableExecuteCommand: true on the service and force a new deployment so new tasks start with it`,
    options,
  );
}

function agentError(where: string, detail: string, options: { cause: unknown }): AgentNotRunningError {
  return new AgentNotRunningError(
    `the ECS Exec agent is not running in ${where} (${detail}); wait for it to start, or check that the image can run the agent and the task role has the ssmmessages permissions`,
    options,
  );
}

/** The service error code of an SDK error (`name`, else `Code` or `__type`), or ''. */
export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; Code?: unknown; __type?: unknown };
    for (const candidate of [e.name, e.Code, e.__type]) if (typeof candidate === 'string' && candidate !== 'Error') return candidate.replace(/^.*#/, '');
  }
  return '';
}
