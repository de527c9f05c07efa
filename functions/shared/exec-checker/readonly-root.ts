import { lines } from './result.js';
import type { Check } from './types.js';

const { green, red } = lines('readonly-root');

/** Check 8: no container has a read-only root filesystem (the SSM agent writes to it). */
export const readonlyRoot: Check = async (ctx) =>
  (ctx.taskDefinition.containerDefinitions ?? [])
    .filter((c) => ctx.containers.includes(c.name ?? ''))
    .map((c) =>
      c.readonlyRootFilesystem === true
        ? red(
            `Root filesystem (${c.name})`,
            'read-only',
            'set readonlyRootFilesystem = false in the container definition: the exec agent writes to /var/lib/amazon/ssm and /var/log/amazon/ssm',
          )
        : green(`Root filesystem (${c.name})`, 'writable'),
    );
