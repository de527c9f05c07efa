import { lines } from './result.js';
import { denied, execContext, simulate } from './simulate.js';
import type { Check, CheckResult } from './types.js';

const { green, yellow, red } = lines('caller-permissions');

/** Check 2: the caller may ecs:ExecuteCommand (with condition context), kms:GenerateDataKey, and is denied ssm:StartSession. */
export const callerPermissions: Check = async (ctx) => {
  const caller = ctx.caller;
  const { clusterArn, taskArn } = ctx.task;
  if (caller === undefined || !clusterArn || !taskArn) return [];
  const iam = ctx.clients.iam;
  const results: CheckResult[] = [];
  for (const container of ctx.containers) {
    const title = `Caller can ExecuteCommand (${container})`;
    const refused = denied(await simulate(iam, caller.principalArn, ['ecs:ExecuteCommand'], [clusterArn, taskArn], execContext(ctx.task, container)));
    results.push(
      refused.length === 0
        ? green(title, `allowed for ${caller.principalArn}`)
        : red(
            title,
            `${refused.map((d) => `${d.decision} on ${d.resource}`).join(', ')} for ${caller.principalArn}`,
            `allow ecs:ExecuteCommand on ${clusterArn} and ${taskArn} for ${caller.principalArn} (and check its conditions on ecs:cluster, ecs:task, ecs:container-name)`,
          ),
    );
  }
  if (ctx.execKmsKeyArn !== undefined) {
    const refused = denied(await simulate(iam, caller.principalArn, ['kms:GenerateDataKey'], [ctx.execKmsKeyArn]));
    results.push(
      refused.length === 0
        ? green('Caller can use the exec KMS key', `kms:GenerateDataKey allowed on ${ctx.execKmsKeyArn}`)
        : red('Caller can use the exec KMS key', `kms:GenerateDataKey is ${refused[0]?.decision} on ${ctx.execKmsKeyArn}`, `allow kms:GenerateDataKey on ${ctx.execKmsKeyArn} for ${caller.principalArn}`),
    );
  }
  const startSession = denied(await simulate(iam, caller.principalArn, ['ssm:StartSession'], [taskArn]));
  results.push(
    startSession.length === 0
      ? yellow('Caller is denied ssm:StartSession', `ssm:StartSession is allowed on ${taskArn}`, 'deny ssm:StartSession on ECS tasks so sessions go through ECS Exec and its audit logging')
      : green('Caller is denied ssm:StartSession', `${startSession[0]?.decision} on the task`),
  );
  return results;
};
