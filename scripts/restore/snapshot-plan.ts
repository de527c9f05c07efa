import { BackupError } from '../../functions/shared/errors.js';
import { snapshotTypeOf, type SnapshotResourceType } from '../../functions/shared/core/snapshot-selection.js';

/**
 * The pure part of `npm run restore -- --snapshot`: recovery points in order, the restore metadata of a
 * restore into a NEW resource, and the refusals that keep a restore off anything live.
 */

/** A restore that would touch something live, or cannot be planned; the message says what to do instead. */
export class SnapshotRestoreRefused extends BackupError {}

/** One recovery point, in the source or the copy region. */
export interface RecoveryPoint {
  readonly arn: string;
  readonly region: string;
  readonly vaultName: string;
  readonly resourceArn: string;
  readonly resourceType: string;
  readonly status: string;
  readonly createdAt: Date;
  /** When AWS Backup deletes it (from its lifecycle), if known. */
  readonly deleteAt?: Date;
}

/** Newest first; ties (a copy made of the same snapshot) keep the source region first. */
export function newestFirst(points: readonly RecoveryPoint[], sourceRegion: string): RecoveryPoint[] {
  return [...points].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || Number(b.region === sourceRegion) - Number(a.region === sourceRegion));
}

/** The name AWS knows a resource by: the table, the DB instance identifier, the file system or volume id. */
export function resourceName(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  return resource.replace(/^(?:table\/|db:|file-system\/|volume\/)/, '');
}

const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** The recovery points as a table, newest first. */
export function formatRecoveryPoints(points: readonly RecoveryPoint[]): string {
  if (points.length === 0) return 'no recovery points\n';
  const rows = points.map((p) => [iso(p.createdAt), p.region, p.resourceType, resourceName(p.resourceArn), p.status, p.deleteAt ? iso(p.deleteAt) : '-', p.arn]);
  const all = [['CREATED', 'REGION', 'TYPE', 'RESOURCE', 'STATUS', 'DELETED AFTER', 'RECOVERY POINT'], ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return `${all.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

/** Which recovery point a restore uses: the one named, else the newest completed one (in `region` when given). */
export function chooseRecoveryPoint(points: readonly RecoveryPoint[], opts: { recoveryPointArn?: string; region?: string }): RecoveryPoint {
  if (opts.recoveryPointArn !== undefined) {
    const named = points.find((p) => p.arn === opts.recoveryPointArn);
    if (named === undefined) throw new SnapshotRestoreRefused(`recovery point ${opts.recoveryPointArn} is not among the listed ones (see --list)`);
    if (named.status !== 'COMPLETED') throw new SnapshotRestoreRefused(`recovery point ${named.arn} is ${named.status}, not COMPLETED: choose another (see --list)`);
    return named;
  }
  const candidates = points.filter((p) => p.status === 'COMPLETED' && (opts.region === undefined || p.region === opts.region));
  const newest = candidates.reduce<RecoveryPoint | null>((a, p) => (a === null || p.createdAt > a.createdAt ? p : a), null);
  if (newest === null) throw new SnapshotRestoreRefused(`no completed recovery point${opts.region ? ` in ${opts.region}` : ''} to restore from (see --list)`);
  return newest;
}

/** `<name>-restored-<yyyymmddhhmm>` (UTC), within the type's name rules. */
export function defaultNewName(type: SnapshotResourceType, sourceName: string, now: Date): string {
  const stamp = now.toISOString().slice(0, 16).replace(/\D/g, '');
  const suffix = `-restored-${stamp}`;
  const max = type === 'RDS' ? 63 : 255;
  return `${sourceName.slice(0, max - suffix.length)}${suffix}`.replace(/--+/g, '-');
}

const NAME_RULES: Partial<Record<SnapshotResourceType, { re: RegExp; what: string }>> = {
  DynamoDB: { re: /^[A-Za-z0-9_.-]{3,255}$/, what: '3-255 letters, digits, "_", "-" or "."' },
  RDS: { re: /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$/, what: '1-63 letters, digits or hyphens, starting with a letter, no "--", not ending in "-"' },
  EFS: { re: /^[\x21-\x7e]{1,64}$/, what: '1-64 printable characters (the new file system\'s creation token)' },
};

/** What a restore job is asked to do. */
export interface RestorePlan {
  readonly resourceType: SnapshotResourceType;
  readonly metadata: Record<string, string>;
  /** What the new resource is called (EBS: AWS assigns a new volume id). */
  readonly newName: string | null;
}

/**
 * The metadata of a restore into a new resource, from the recovery point's own restore metadata:
 * DynamoDB into a new table name, EFS into a new file system, EBS into a new volume, RDS into a new
 * instance. Refuses a name that a live resource carries (`liveNames`: the source's and every other
 * protected resource's of the type), so a restore never replaces data.
 */
export function planRestore(point: RecoveryPoint, original: Readonly<Record<string, string>>, newName: string, liveNames: readonly string[]): RestorePlan {
  const type = snapshotTypeOf(point.resourceArn);
  if (type === null) throw new SnapshotRestoreRefused(`${point.resourceArn} is not an EBS volume, EFS file system, DynamoDB table or RDS instance: restore it in the AWS Backup console`);
  if (type === 'EBS') return { resourceType: type, metadata: { ...original }, newName: null };
  const rule = NAME_RULES[type]!;
  if (!rule.re.test(newName)) throw new SnapshotRestoreRefused(`--new-name "${newName}" is not a valid ${type} name: must be ${rule.what}`);
  const live = liveNames.find((n) => n === newName || (type !== 'DynamoDB' && n.toLowerCase() === newName.toLowerCase()));
  if (live !== undefined || newName === resourceName(point.resourceArn)) {
    throw new SnapshotRestoreRefused(`refusing to restore into "${newName}": a live ${type} resource has that name; choose a new one with --new-name`);
  }
  switch (type) {
    case 'DynamoDB':
      return { resourceType: type, metadata: { ...original, targetTableName: newName }, newName };
    case 'RDS':
      return { resourceType: type, metadata: { ...original, DBInstanceIdentifier: newName }, newName };
    case 'EFS':
      // newFileSystem "false" would restore into a directory of the live file system; always a new one here.
      return { resourceType: type, metadata: { ...original, newFileSystem: 'true', CreationToken: newName }, newName };
  }
}

/** A restore job's state that ends polling. */
export const TERMINAL_RESTORE_STATES = ['COMPLETED', 'FAILED', 'ABORTED'] as const;
