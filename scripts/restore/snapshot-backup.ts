import {
  DescribeRestoreJobCommand,
  GetRecoveryPointRestoreMetadataCommand,
  ListRecoveryPointsByBackupVaultCommand,
  StartRestoreJobCommand,
  type BackupClient,
  type DescribeRestoreJobCommandOutput,
} from '@aws-sdk/client-backup';
import { BackupError, errorMessage } from '../../functions/shared/errors.js';
import { TERMINAL_RESTORE_STATES, type RecoveryPoint, type RestorePlan } from './snapshot-plan.js';

/** The AWS Backup API answered with an error; the message names the call. */
export class SnapshotApiError extends BackupError {}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new SnapshotApiError(`${what} failed: ${errorMessage(error)}`, { cause: error });
  }
}

/** Every recovery point of `vaultName`, all pages. */
export async function listVaultRecoveryPoints(backup: BackupClient, region: string, vaultName: string): Promise<RecoveryPoint[]> {
  const points: RecoveryPoint[] = [];
  let token: string | undefined;
  do {
    const page = await call(`listing the recovery points of vault ${vaultName} in ${region}`, () =>
      backup.send(new ListRecoveryPointsByBackupVaultCommand({ BackupVaultName: vaultName, NextToken: token })),
    );
    for (const p of page.RecoveryPoints ?? []) {
      if (!p.RecoveryPointArn || !p.ResourceArn || !p.CreationDate) continue;
      points.push({
        arn: p.RecoveryPointArn,
        region,
        vaultName,
        resourceArn: p.ResourceArn,
        resourceType: p.ResourceType ?? '?',
        status: p.Status ?? '?',
        createdAt: p.CreationDate,
        ...(p.CalculatedLifecycle?.DeleteAt ? { deleteAt: p.CalculatedLifecycle.DeleteAt } : {}),
      });
    }
    token = page.NextToken;
  } while (token);
  return points;
}

/** The recovery point's restore metadata (what the backed-up resource looked like). */
export async function restoreMetadataOf(backup: BackupClient, point: RecoveryPoint): Promise<Record<string, string>> {
  const res = await call(`reading the restore metadata of ${point.arn}`, () =>
    backup.send(new GetRecoveryPointRestoreMetadataCommand({ BackupVaultName: point.vaultName, RecoveryPointArn: point.arn })),
  );
  return { ...(res.RestoreMetadata ?? {}) };
}

/** Starts the restore job; resolves to its id. */
export async function startRestore(backup: BackupClient, point: RecoveryPoint, plan: RestorePlan, iamRoleArn: string): Promise<string> {
  const res = await call(`starting the restore of ${point.arn}`, () =>
    backup.send(new StartRestoreJobCommand({ RecoveryPointArn: point.arn, Metadata: plan.metadata, IamRoleArn: iamRoleArn, ResourceType: plan.resourceType })),
  );
  if (!res.RestoreJobId) throw new SnapshotApiError(`AWS Backup started no restore job for ${point.arn}`);
  return res.RestoreJobId;
}

/** Polls the restore job until it ends; `progress` sees each state change. */
export async function waitForRestore(
  backup: BackupClient,
  jobId: string,
  opts: { pollMs: number; sleep: (ms: number) => Promise<void>; progress: (line: string) => void },
): Promise<DescribeRestoreJobCommandOutput> {
  let last = '';
  for (;;) {
    const job = await call(`reading restore job ${jobId}`, () => backup.send(new DescribeRestoreJobCommand({ RestoreJobId: jobId })));
    const line = `restore job ${jobId}: ${job.Status ?? '?'}${job.PercentDone ? ` (${job.PercentDone})` : ''}`;
    if (line !== last) opts.progress(line);
    last = line;
    if ((TERMINAL_RESTORE_STATES as readonly string[]).includes(job.Status ?? '')) return job;
    await opts.sleep(opts.pollMs);
  }
}
