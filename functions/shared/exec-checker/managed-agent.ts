import { lines } from './result.js';
import type { Check, CheckResult } from './types.js';

const { green, yellow, red } = lines('managed-agent');

/** Name of the managed agent ECS Exec injects into every container. */
export const EXEC_AGENT = 'ExecuteCommandAgent';

/** Check 6: each container's ExecuteCommandAgent (found by name) is RUNNING; skipped when exec is disabled. */
export const managedAgent: Check = async (ctx) => {
  if (ctx.task.enableExecuteCommand !== true) return [];
  const results: CheckResult[] = [];
  for (const container of ctx.task.containers ?? []) {
    const name = container.name ?? '?';
    if (!ctx.containers.includes(name)) continue;
    const title = `Managed agent (${name})`;
    const agent = container.managedAgents?.find((a) => a.name === EXEC_AGENT);
    const status = agent?.lastStatus;
    if (agent === undefined) {
      results.push(red(title, `no ${EXEC_AGENT}`, 'start a new task after enabling exec on the service; tasks started before keep running without the agent'));
    } else if (status === 'RUNNING') {
      results.push(green(title, 'RUNNING'));
    } else if (status === 'PENDING') {
      results.push(yellow(title, 'PENDING (the agent is starting)', 'wait a minute and run the checker again'));
    } else if (status === 'STOPPED') {
      const started = agent.lastStartedAt ? `, last started at ${agent.lastStartedAt.toISOString()}` : '';
      results.push(
        red(
          title,
          `STOPPED (reason: ${agent.reason ?? 'none given'}${started})`,
          "fix the task role's ssmmessages permissions, the network path to ssmmessages and a writable root filesystem, then start a new task",
        ),
      );
    } else {
      results.push(yellow(title, `${status ?? 'no status reported'}`));
    }
  }
  return results;
};
