import { execPlacement } from '../config/target-mode.js';
import { executeCommandDeniedReason } from './exec-denied-reason.js';
import { lines } from './result.js';
import { denied, execContext, simulate } from './simulate.js';
import type { Check } from './types.js';

const { green, red } = lines('orchestrator-permission');

/** Backup path: the orchestrator Lambda exists, and its role may find this task and ecs:ExecuteCommand on it and the target's container. */
export const orchestratorPermission: Check = async (ctx) => {
  const backup = ctx.backup;
  if (backup === undefined) return [];
  if ('error' in backup.orchestrator) {
    return [
      red(
        'Orchestrator function',
        `${backup.functionName}: ${backup.orchestrator.error}`,
        'deploy the stack (cdktf deploy), or pass the function name with --function',
      ),
    ];
  }
  const role = backup.orchestrator.configuration.Role;
  const { clusterArn, taskArn } = ctx.task;
  const container = backup.target.container;
  const title = `Orchestrator can ExecuteCommand (${container})`;
  if (!role || !clusterArn || !taskArn) return [red(title, `function ${backup.functionName} reports no role`, 'redeploy the stack')];
  const iam = ctx.clients.iam;
  const refused = denied(await simulate(iam, role, ['ecs:ExecuteCommand'], [clusterArn, taskArn], execContext(ctx.task, container)));
  const clusterOnly = execContext(ctx.task, undefined).filter((e) => e.ContextKeyName === 'ecs:cluster');
  const unseen = denied([
    ...(await simulate(iam, role, ['ecs:ListTasks'], ['*'], clusterOnly)),
    ...(await simulate(iam, role, ['ecs:DescribeTasks'], [taskArn], clusterOnly)),
  ]);
  const fixTarget = `check that target ${backup.target.name}'s cluster and container in the config match the task, then redeploy`;
  return [
    unseen.length === 0
      ? green('Orchestrator can find the task', `ecs:ListTasks and ecs:DescribeTasks allowed for ${role}`)
      : red(
          'Orchestrator can find the task',
          `${unseen.map((d) => `${d.action} is ${d.decision} on ${d.resource}`).join(', ')} for ${role}`,
          `allow ${[...new Set(unseen.map((d) => d.action))].join(', ')} in cluster ${clusterArn} for ${role}; ${fixTarget}`,
        ),
    refused.length === 0
      ? green(title, `allowed for ${role}`)
      : red(
          title,
          `${refused.map((d) => `${d.decision} on ${d.resource}`).join(', ')} for ${role}`,
          `${executeCommandDeniedReason(ctx.task, { ...execPlacement(backup.target), ecsManagedTags: backup.target.ecsManagedTags })}; otherwise allow ecs:ExecuteCommand on ${clusterArn} and tasks of it for ${role}`,
        ),
  ];
};
