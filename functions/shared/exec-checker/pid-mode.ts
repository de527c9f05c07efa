import { lines } from './result.js';
import type { Check } from './types.js';

const { green, yellow } = lines('pid-mode');

/** Check 12: pidMode `task` lets ECS Exec reach only one container of the task. */
export const pidMode: Check = async (ctx) => {
  const mode = ctx.taskDefinition.pidMode;
  if (mode === 'task') {
    return [yellow('PID mode', 'task (ECS Exec works in only one container of the task)', 'remove pidMode or set it to host if you exec into several containers')];
  }
  return [green('PID mode', mode ?? 'not configured')];
};
