import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { errorMessage } from '../errors.js';
import { lines } from './result.js';
import { denied, simulate } from './simulate.js';
import type { BackupContext, Check, CheckContext, CheckResult } from './types.js';

const { green, yellow, red } = lines('exec-kms');

const TITLE = 'Exec session encryption (orchestrator)';

/**
 * Backup path, for a cluster whose ECS Exec sessions are KMS-encrypted: the key is enabled, the config
 * names it (so the deployed role has kms:GenerateDataKey on it), and the orchestrator's role may use it.
 * The task role's kms:Decrypt is checked by task-role.
 */
export const execKms: Check = async (ctx) => {
  const backup = ctx.backup;
  if (backup === undefined) return [];
  const keyId = ctx.cluster.configuration?.executeCommandConfiguration?.kmsKeyId;
  if (keyId === undefined) return [green(TITLE, 'no KMS key: sessions need no KMS handshake')];
  const key = ctx.execKmsKeyArn ?? keyId;
  return [green(TITLE, `sessions are encrypted with ${key}; the orchestrator runs the KMS handshake`), await keyState(ctx, key), configured(backup, key), ...(await roleMayUse(ctx, backup, key))];
};

async function keyState(ctx: CheckContext, key: string): Promise<CheckResult> {
  const title = 'Exec KMS key state';
  let state: string | undefined;
  try {
    state = (await ctx.clients.kms.send(new DescribeKeyCommand({ KeyId: key }))).KeyMetadata?.KeyState;
  } catch (error) {
    return yellow(title, `kms:DescribeKey on ${key} failed: ${errorMessage(error)}`, `allow kms:DescribeKey on ${key} for the caller to check it`);
  }
  if (state === 'Enabled') return green(title, `${key} is Enabled`);
  return red(
    title,
    `${key} is ${state ?? 'in an unknown state'}: no session can get a data key, so every backup fails with KmsKeyDisabledError`,
    state === 'PendingDeletion' ? `cancel the deletion of ${key} (aws kms cancel-key-deletion) and enable it` : `enable ${key} (aws kms enable-key)`,
  );
}

function configured(backup: BackupContext, key: string): CheckResult {
  const title = 'Exec KMS key in the config';
  const cluster = backup.target.cluster;
  const named = backup.config.execKmsKeys[cluster];
  const fix = `set execKmsKeys.${cluster} to "${key}" in the config and redeploy, so the orchestrator's role gets kms:GenerateDataKey on it`;
  if (named === undefined) return red(title, `execKmsKeys has no key for cluster ${cluster}`, fix);
  if (named !== key) return red(title, `execKmsKeys.${cluster} is ${named}, but the cluster encrypts sessions with ${key}`, fix);
  return green(title, `execKmsKeys.${cluster} is ${key}`);
}

async function roleMayUse(ctx: CheckContext, backup: BackupContext, key: string): Promise<CheckResult[]> {
  // Without the function, orchestrator-permission says why; there is no role to simulate.
  if ('error' in backup.orchestrator || !backup.orchestrator.configuration.Role) return [];
  const role = backup.orchestrator.configuration.Role;
  const title = 'Orchestrator can make session data keys';
  const refused = denied(await simulate(ctx.clients.iam, role, ['kms:GenerateDataKey'], [key]));
  return [
    refused.length === 0
      ? green(title, `kms:GenerateDataKey allowed on ${key} for ${role}`)
      : red(
          title,
          `kms:GenerateDataKey is ${refused[0]?.decision} on ${key} for ${role}: backups fail with KmsAccessDeniedError`,
          `set execKmsKeys.${backup.target.cluster} to "${key}" in the config and redeploy; if it is set, check that the key policy lets IAM policies of the account grant access`,
        ),
  ];
}
