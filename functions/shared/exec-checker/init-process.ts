import { lines } from './result.js';
import type { Check } from './types.js';

const { green, yellow } = lines('init-process');

/** Check 7: each container definition has linuxParameters.initProcessEnabled (reaps exec'd processes). */
export const initProcess: Check = async (ctx) =>
  (ctx.taskDefinition.containerDefinitions ?? [])
    .filter((c) => ctx.containers.includes(c.name ?? ''))
    .map((c) =>
      c.linuxParameters?.initProcessEnabled === true
        ? green(`Init process (${c.name})`, 'enabled')
        : yellow(
            `Init process (${c.name})`,
            'disabled',
            'set linuxParameters.initProcessEnabled = true so processes left by exec sessions are reaped',
          ),
    );
