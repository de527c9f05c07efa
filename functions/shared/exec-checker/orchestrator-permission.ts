import { lines } from './result.js';
import { denied, execContext, simulate } from './simulate.js';
import type { Check } from './types.js';

const { green, red } = lines('orchestrator-permission');

/** Backup path: the orchestrator Lambda exists, and its role may ecs:ExecuteCommand on this task and the target's container. */
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
  const refused = denied(await simulate(ctx.clients.iam, role, ['ecs:ExecuteCommand'], [clusterArn, taskArn], execContext(ctx.task, container)));
  return refused.length === 0
    ? [green(title, `allowed for ${role}`)]
    : [
        red(
          title,
          `${refused.map((d) => `${d.decision} on ${d.resource}`).join(', ')} for ${role}`,
          `allow ecs:ExecuteCommand on ${clusterArn} and tasks of it for ${role}; check that target ${backup.target.name}'s cluster and container in the config match the task, then redeploy`,
        ),
      ];
};
