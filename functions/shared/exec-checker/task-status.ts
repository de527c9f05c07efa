import { lines } from './result.js';
import type { Check } from './types.js';

const { green, yellow, red } = lines('task-status');
const TITLE = 'Task status';
const STARTING = new Set(['PROVISIONING', 'ACTIVATING', 'PENDING']);

/** Check 3: the task is RUNNING. */
export const taskStatus: Check = async (ctx) => {
  const status = ctx.task.lastStatus ?? 'UNKNOWN';
  if (status === 'RUNNING') return [green(TITLE, 'RUNNING')];
  if (STARTING.has(status)) return [yellow(TITLE, `${status} (the task is still starting)`, 'wait until the task is RUNNING, then run the checker again')];
  if (status === 'STOPPED') {
    return [red(TITLE, `STOPPED (${ctx.task.stoppedReason ?? 'no reason given'})`, 'ECS Exec needs a RUNNING task: check the stopped reason and pick a RUNNING task')];
  }
  return [red(TITLE, `${status} (the task is stopping or unknown)`, 'ECS Exec needs a RUNNING task: pick a RUNNING task')];
};
