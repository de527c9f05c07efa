import { lines } from './result.js';
import type { Check } from './types.js';

const { green, red } = lines('exec-enabled');

/** Check 5: the task was started with enableExecuteCommand. */
export const execEnabled: Check = async (ctx) =>
  ctx.task.enableExecuteCommand === true
    ? [green('Exec enabled for task', 'YES')]
    : [
        red(
          'Exec enabled for task',
          'NO',
          'set enableExecuteCommand = true on the service (aws ecs update-service --enable-execute-command --force-new-deployment); running tasks keep the old setting',
        ),
      ];
