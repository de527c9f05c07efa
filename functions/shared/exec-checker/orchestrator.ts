import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import type { BackupContext, CheckContext } from './types.js';

/** The backup target and the orchestrator's configuration, when both are known. */
export function orchestratorOf(ctx: CheckContext): { backup: BackupContext; fn: FunctionConfiguration } | undefined {
  const backup = ctx.backup;
  if (backup === undefined || !('configuration' in backup.orchestrator)) return undefined;
  return { backup, fn: backup.orchestrator.configuration };
}
