import { lines } from './result.js';
import type { Check } from './types.js';

const { green, red } = lines('exec-kms');

/** Backup path: the cluster's ECS Exec sessions are not KMS-encrypted, which the orchestrator cannot speak yet. */
export const execKms: Check = async (ctx) => {
  if (ctx.backup === undefined) return [];
  const key = ctx.cluster.configuration?.executeCommandConfiguration?.kmsKeyId;
  return key === undefined
    ? [green('Exec session encryption (orchestrator)', 'no KMS key: the orchestrator can open sessions')]
    : [
        red(
          'Exec session encryption (orchestrator)',
          `the cluster encrypts ECS Exec sessions with ${ctx.execKmsKeyArn ?? key}; the orchestrator does not support KMS-encrypted ECS Exec sessions yet`,
          `remove kmsKeyId from the executeCommandConfiguration of cluster ${ctx.cluster.clusterName ?? ctx.task.clusterArn}, or back this target up from another cluster`,
        ),
      ];
};
