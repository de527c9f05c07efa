import { BackupClient } from '@aws-sdk/client-backup';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Command, CommanderError, Option } from 'commander';
import { loadConfigFile, resolveConfigPath } from '../../functions/shared/config/load.js';
import type { BackupConfig } from '../../functions/shared/config/schema.js';
import { snapshotRoleName, snapshotTypeOf, snapshotVaultName } from '../../functions/shared/core/snapshot-selection.js';
import { BackupError, errorMessage } from '../../functions/shared/errors.js';
import type { CliIo } from '../restore.js';
import { formatFindings, judgeSelection, listTaggedResources } from './snapshot-check.js';
import { listVaultRecoveryPoints, restoreMetadataOf, startRestore, waitForRestore } from './snapshot-backup.js';
import { chooseRecoveryPoint, defaultNewName, formatRecoveryPoints, newestFirst, planRestore, resourceName, SnapshotRestoreRefused, type RecoveryPoint } from './snapshot-plan.js';

/**
 * `npm run restore -- --snapshot (--resource ARN | --tag) [--list] [--recovery-point ARN] [--region R]
 * [--new-name NAME] [--config PATH]`: lists the AWS Backup recovery points of the snapshot vault and its
 * copy vault (newest first), or restores one into a NEW resource and waits for the job to end.
 * `--snapshot --check`: whether the resources carrying the tag key are actually selected (exit 1 if not).
 */

/** Exit code of a bad command line. */
const USAGE_EXIT = 2;

/** The command line is wrong; the message says how to fix it. */
export class SnapshotUsageError extends BackupError {}

/** Parsed options of the snapshot restore. */
export interface SnapshotCliOptions {
  resource?: string;
  tag: boolean;
  list: boolean;
  check: boolean;
  recoveryPoint?: string;
  region?: string;
  newName?: string;
  config?: string;
  pollSeconds: number;
}

/** An AWS Backup client for a region (replaced in tests). */
export type BackupClients = (region: string) => BackupClient;
/** A tagging API client for a region (replaced in tests). */
export type TaggingClients = (region: string) => ResourceGroupsTaggingAPIClient;

function program(io: CliIo): Command {
  return new Command('restore --snapshot')
    .description('Lists the AWS Backup recovery points of tagged resources, or restores one into a new resource.')
    .option('--snapshot', 'restore a snapshot (AWS Backup) instead of a dump')
    .addOption(new Option('--resource <arn>', 'ARN of the backed-up resource (table, DB instance, file system, volume)'))
    .option('--tag', "every resource the plan selected by its tag (the vaults' recovery points)", false)
    .option('--list', 'list the recovery points (source and copy region, newest first) and exit', false)
    .option('--check', "report whether the resources carrying the snapshot tag's key are selected by the plan, and exit", false)
    .addOption(new Option('--recovery-point <arn>', 'the recovery point to restore (default: the newest completed one)'))
    .addOption(new Option('--region <region>', 'restore from the vault in this region (the deployment or the copy region)'))
    .addOption(new Option('--new-name <name>', 'name of the new table / DB instance / file system token (default <name>-restored-<time>)'))
    .addOption(new Option('--config <path>', 'backup config file (default $BACKUP_CONFIG, then ./backup.config.json)'))
    .addOption(new Option('--poll-seconds <n>', 'seconds between polls of the restore job').default('15'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
}

/** Parses the command line; throws SnapshotUsageError (or CommanderError for help and commander's own errors). */
export function parseSnapshotArgs(argv: readonly string[], io: CliIo): SnapshotCliOptions {
  const o = program(io).parse([...argv], { from: 'user' }).opts<Omit<SnapshotCliOptions, 'pollSeconds'> & { pollSeconds: string }>();
  if (o.check && (o.resource !== undefined || o.tag || o.list || o.recoveryPoint !== undefined || o.newName !== undefined)) {
    throw new SnapshotUsageError('--check only checks: drop --resource, --tag, --list, --recovery-point and --new-name');
  }
  if (!o.check && (o.resource === undefined) === !o.tag) throw new SnapshotUsageError('pass exactly one of --resource ARN and --tag');
  if (o.resource !== undefined && snapshotTypeOf(o.resource) === null) {
    throw new SnapshotUsageError(`--resource must be the ARN of an EBS volume, EFS file system, DynamoDB table or RDS instance, got "${o.resource}"`);
  }
  if (o.list && (o.recoveryPoint !== undefined || o.newName !== undefined)) throw new SnapshotUsageError('--list only lists: drop --recovery-point and --new-name');
  const pollSeconds = Number(o.pollSeconds);
  if (!Number.isFinite(pollSeconds) || pollSeconds < 0 || pollSeconds > 600) throw new SnapshotUsageError(`--poll-seconds must be 0-600, got "${o.pollSeconds}"`);
  const { snapshot: _snapshot, ...rest } = o as typeof o & { snapshot?: boolean };
  return { ...rest, pollSeconds };
}

/** The vaults to read: the deployment region's, and the copy region's when copies are made. */
export function vaultsOf(config: BackupConfig): Array<{ region: string; vaultName: string }> {
  const vaults = [{ region: config.region, vaultName: snapshotVaultName(config.name) }];
  const copy = config.snapshots?.copyToRegion;
  if (copy !== undefined) vaults.push({ region: copy.region, vaultName: snapshotVaultName(config.name, true) });
  return vaults;
}

/** Every recovery point of both vaults: all of them, since every protected resource's name is live and a restore must avoid it. */
async function listAll(config: BackupConfig, clients: BackupClients): Promise<RecoveryPoint[]> {
  const lists = await Promise.all(vaultsOf(config).map((v) => listVaultRecoveryPoints(clients(v.region), v.region, v.vaultName)));
  return newestFirst(lists.flat(), config.region);
}

/** The one resource a restore is about: the named one, or with --tag the only one the vaults hold. */
function resourceToRestore(o: SnapshotCliOptions, points: readonly RecoveryPoint[]): string {
  if (o.resource !== undefined) return o.resource;
  const resources = [...new Set(points.map((p) => p.resourceArn))];
  if (resources.length === 1) return resources[0]!;
  throw new SnapshotUsageError(
    resources.length === 0 ? 'the vaults hold no recovery points' : `the tag selects ${resources.length} resources; choose one with --resource:\n  ${resources.join('\n  ')}`,
  );
}

async function restore(o: SnapshotCliOptions, config: BackupConfig, clients: BackupClients, points: readonly RecoveryPoint[], io: CliIo): Promise<void> {
  const resourceArn = resourceToRestore(o, points);
  if (o.region !== undefined && !vaultsOf(config).some((v) => v.region === o.region)) {
    throw new SnapshotUsageError(`--region must be one of the vaults' regions (${vaultsOf(config).map((v) => v.region).join(', ')}), got "${o.region}"`);
  }
  const point = chooseRecoveryPoint(points.filter((p) => p.resourceArn === resourceArn), { recoveryPointArn: o.recoveryPoint, region: o.region });
  const type = snapshotTypeOf(resourceArn)!;
  const newName = o.newName ?? defaultNewName(type, resourceName(resourceArn), new Date());
  // Every resource the vaults protect is live somewhere: none of their names may be taken by the restore.
  const liveNames = [...new Set(points.filter((p) => snapshotTypeOf(p.resourceArn) === type).map((p) => resourceName(p.resourceArn)))];
  const backup = clients(point.region);
  const plan = planRestore(point, await restoreMetadataOf(backup, point), newName, liveNames);
  const [, partition, , , account] = point.arn.split(':');
  const roleArn = `arn:${partition}:iam::${account}:role/${snapshotRoleName(config.name)}`;
  const jobId = await startRestore(backup, point, plan, roleArn);
  io.err(`restoring ${point.arn} (${point.region}, ${point.createdAt.toISOString()}) into ${plan.newName ?? `a new ${type} resource`}: job ${jobId}\n`);
  const job = await waitForRestore(backup, jobId, { pollMs: o.pollSeconds * 1000, sleep: io.sleep, progress: (l) => io.err(`${l}\n`) });
  if (job.Status !== 'COMPLETED') throw new SnapshotRestoreRefused(`restore job ${jobId} ${job.Status}: ${job.StatusMessage ?? 'no reason given'}`);
  io.out(`restored ${resourceArn} into ${job.CreatedResourceArn ?? plan.newName ?? '(see the job)'} (job ${jobId}, from ${point.arn})\n`);
}

/** The whole `--snapshot` command; resolves to the exit code (0 done, 1 failed or refused, 2 usage error). */
export async function snapshotMain(argv: readonly string[], io: CliIo, clients?: BackupClients, tagging?: TaggingClients): Promise<number> {
  let o: SnapshotCliOptions;
  let config: BackupConfig;
  try {
    o = parseSnapshotArgs(argv, io);
    config = loadConfigFile(resolveConfigPath(o.config));
    if (config.snapshots === undefined) throw new SnapshotUsageError('the config has no "snapshots" section: this deployment takes no snapshots');
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
    io.err(`error: ${errorMessage(error)}\n`);
    return USAGE_EXIT;
  }
  const made = new Map<string, BackupClient>();
  const clientFor: BackupClients = (region) => {
    let c = made.get(region);
    if (c === undefined) made.set(region, (c = clients ? clients(region) : new BackupClient({ region })));
    return c;
  };
  try {
    const points = await listAll(config, clientFor);
    if (o.check) {
      const tag = config.snapshots.tag;
      const client = tagging ? tagging(config.region) : new ResourceGroupsTaggingAPIClient({ region: config.region });
      try {
        const findings = judgeSelection(await listTaggedResources(client, tag.key), tag, points);
        io.out(formatFindings(findings, tag.key));
        return findings.every((f) => f.selected) ? 0 : 1;
      } finally {
        client.destroy();
      }
    }
    if (o.list) {
      io.out(formatRecoveryPoints(o.resource === undefined ? points : points.filter((p) => p.resourceArn === o.resource)));
      return 0;
    }
    await restore(o, config, clientFor, points, io);
    return 0;
  } catch (error) {
    io.err(`error: ${errorMessage(error)}\n`);
    return error instanceof SnapshotUsageError ? USAGE_EXIT : 1;
  } finally {
    for (const c of made.values()) c.destroy();
  }
}
