import * as z from 'zod';
import { bucketName, kmsKeyArn, pattern, regionName, timeZone } from './fields.js';

/**
 * The disaster-recovery parts of the configuration (snapshots, dump replication, Object Lock), every one
 * off unless set. Kept apart from schema.ts, which composes them and checks them against the rest.
 */

/** The tag that puts a resource into the snapshot plan, unless the config names another. */
export const DEFAULT_SNAPSHOT_TAG = { key: 'ecs-db-backup:snapshot', value: 'true' } as const;
/** Days a snapshot is kept unless the config says otherwise. */
export const DEFAULT_SNAPSHOT_RETENTION_DAYS = 7;
/** Daily at 03:00 (AWS Backup's cron form: minute hour day-of-month month day-of-week year). */
export const DEFAULT_SNAPSHOT_SCHEDULE = 'cron(0 3 * * ? *)';
/** AWS Backup's shortest grace period before a compliance-mode lock becomes permanent. */
export const MIN_CHANGEABLE_FOR_DAYS = 3;

const days = (max: number) => z.number().int().min(1).max(max);

/** The region a KMS key ARN names. */
export function kmsKeyRegion(arn: string): string {
  return arn.split(':')[3] ?? '';
}

/** AWS Backup's 6-field cron: exactly one of day-of-month and day-of-week is "?". */
const backupSchedule = z.string().superRefine((expr, ctx) => {
  const fields = /^cron\((.*)\)$/.exec(expr)?.[1]?.split(' ');
  if (fields?.length !== 6 || fields.some((f) => !/^[A-Za-z0-9*?,/#L-]+$/.test(f))) {
    ctx.addIssue({ code: 'custom', message: 'must be an AWS Backup cron expression with 6 fields, like "cron(0 3 * * ? *)"' });
    return;
  }
  if ((fields[2] === '?') === (fields[4] === '?')) {
    ctx.addIssue({ code: 'custom', message: 'must have "?" in exactly one of day-of-month (3rd field) and day-of-week (5th field)' });
  }
});

const tagSchema = z
  .strictObject({
    key: pattern(/^(?!aws:)[\p{L}\p{N} _.:/=+@-]{1,128}$/u, '1-128 letters, digits, spaces or _ . : / = + - @, not starting with "aws:"')
      .default(DEFAULT_SNAPSHOT_TAG.key)
      .describe('Tag key that selects a resource.'),
    value: pattern(/^[\p{L}\p{N} _.:/=+@-]{0,256}$/u, '0-256 letters, digits, spaces or _ . : / = + - @')
      .default(DEFAULT_SNAPSHOT_TAG.value)
      .describe('Tag value that selects a resource (exact, case-sensitive).'),
  })
  .default({ ...DEFAULT_SNAPSHOT_TAG })
  .describe('The tag that puts an EBS volume, EFS file system, DynamoDB table or RDS instance into the plan.');

const vaultLockSchema = z
  .strictObject({
    mode: z.enum(['governance', 'compliance']).describe('governance: principals with backup:DeleteBackupVaultLockConfiguration can lift it; compliance: nobody can, ever, once changeableForDays have passed.'),
    minRetentionDays: days(36500).describe('Shortest retention a recovery point in the vault may have.'),
    maxRetentionDays: days(36500).describe('Longest retention a recovery point in the vault may have.'),
    changeableForDays: z
      .number()
      .int()
      .min(MIN_CHANGEABLE_FOR_DAYS)
      .max(36500)
      .optional()
      .describe(`Compliance mode only: days in which the lock can still be removed (default and minimum ${MIN_CHANGEABLE_FOR_DAYS}); after that it is immutable.`),
  })
  .superRefine((l, ctx) => {
    if (l.minRetentionDays > l.maxRetentionDays) {
      ctx.addIssue({ code: 'custom', path: ['maxRetentionDays'], message: `must be at least minRetentionDays (${l.minRetentionDays}), got ${l.maxRetentionDays}` });
    }
    if (l.mode === 'governance' && l.changeableForDays !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['changeableForDays'], message: 'applies to compliance mode only: drop it, or set mode to "compliance"' });
    }
  })
  .describe('AWS Backup Vault Lock on the vaults (and the copy vault): recovery points cannot be deleted before their retention ends.');

const copySchema = z
  .strictObject({
    region: regionName.describe('Region of the copy vault; must differ from the deployment region.'),
    retentionDays: days(36500).optional().describe('Days a copy is kept; default the snapshots\' retentionDays.'),
    kmsKeyArn: kmsKeyArn.optional().describe('KMS key of the copy vault, in the copy region; created when omitted.'),
  })
  .describe('Copy every recovery point into a vault in a second region.');

/** `snapshots`: AWS Backup of tagged EBS volumes, EFS file systems, DynamoDB tables and RDS instances. */
export const snapshotsSchema = z
  .strictObject({
    kmsKeyArn: kmsKeyArn.optional().describe('KMS key of the vault, in the deployment region; created when omitted.'),
    schedule: backupSchedule.default(DEFAULT_SNAPSHOT_SCHEDULE).describe('When the plan runs (AWS Backup cron, 6 fields).'),
    timeZone: timeZone.default('UTC').describe('IANA time zone of the schedule.'),
    retentionDays: days(36500).default(DEFAULT_SNAPSHOT_RETENTION_DAYS).describe('Days a recovery point is kept.'),
    tag: tagSchema,
    copyToRegion: copySchema.optional(),
    vaultLock: vaultLockSchema.optional(),
  })
  .describe('Snapshot layer (AWS Backup): off unless set.');

/** `replication`: the dump bucket replicated to a bucket in a second region. */
export const replicationSchema = z
  .strictObject({
    region: regionName.describe('Region of the replica bucket; must differ from the deployment region.'),
    bucketName: bucketName.describe('Name of the replica bucket (created by this stack).'),
    kmsKeyArn: kmsKeyArn.optional().describe('KMS key (in the replica region) for SSE-KMS of the replicas; SSE-S3 when omitted.'),
    retentionDays: days(3650).optional().describe('Days non-current replica versions are kept; default the top-level retentionDays.'),
  })
  .describe('S3 replication of the dumps to a second region (delete markers are not replicated): off unless set.');

/** `objectLock`: S3 Object Lock default retention of a bucket this stack creates. */
export const objectLockSchema = z
  .strictObject({
    mode: z.enum(['governance', 'compliance']).describe('governance: s3:BypassGovernanceRetention can still delete; compliance: nobody can, not even the root user.'),
    days: days(36500).describe('Days every new object version is locked against deletion and overwrite.'),
  })
  .describe('S3 Object Lock for a new dump bucket (and its replica): off unless set.');

/** The validated `snapshots` section. */
export type SnapshotsConfig = z.output<typeof snapshotsSchema>;
/** The validated `replication` section. */
export type ReplicationConfig = z.output<typeof replicationSchema>;
/** The validated `objectLock` section. */
export type ObjectLockConfig = z.output<typeof objectLockSchema>;

/** The fields of the whole config the cross-checks below read. */
interface DisasterRecoveryFields {
  readonly region: string;
  readonly retentionDays: number;
  readonly bucket: { readonly name: string; readonly existing: boolean };
  readonly snapshots?: SnapshotsConfig;
  readonly replication?: ReplicationConfig;
  readonly objectLock?: ObjectLockConfig;
}

type Issue = { readonly path: readonly (string | number)[]; readonly message: string };

function snapshotIssues(c: DisasterRecoveryFields, s: SnapshotsConfig): Issue[] {
  const issues: Issue[] = [];
  if (s.kmsKeyArn !== undefined && kmsKeyRegion(s.kmsKeyArn) !== c.region) {
    issues.push({ path: ['snapshots', 'kmsKeyArn'], message: `is a key in ${kmsKeyRegion(s.kmsKeyArn)}, but the vault is in ${c.region}` });
  }
  const copy = s.copyToRegion;
  if (copy !== undefined) {
    if (copy.region === c.region) issues.push({ path: ['snapshots', 'copyToRegion', 'region'], message: `must differ from the deployment region ${c.region}` });
    if (copy.kmsKeyArn !== undefined && kmsKeyRegion(copy.kmsKeyArn) !== copy.region) {
      issues.push({ path: ['snapshots', 'copyToRegion', 'kmsKeyArn'], message: `is a key in ${kmsKeyRegion(copy.kmsKeyArn)}, but the copy vault is in ${copy.region}` });
    }
  }
  const lock = s.vaultLock;
  if (lock !== undefined) {
    const retentions: Array<[readonly (string | number)[], number]> = [[['snapshots', 'retentionDays'], s.retentionDays]];
    if (copy !== undefined) retentions.push([['snapshots', 'copyToRegion', 'retentionDays'], copy.retentionDays ?? s.retentionDays]);
    for (const [path, value] of retentions) {
      if (value < lock.minRetentionDays || value > lock.maxRetentionDays) {
        issues.push({ path, message: `is ${value} days, outside the vault lock's ${lock.minRetentionDays}-${lock.maxRetentionDays}: AWS Backup would refuse every backup` });
      }
    }
  }
  return issues;
}

function replicationIssues(c: DisasterRecoveryFields, r: ReplicationConfig): Issue[] {
  const issues: Issue[] = [];
  if (r.region === c.region) issues.push({ path: ['replication', 'region'], message: `must differ from the deployment region ${c.region}` });
  if (r.bucketName === c.bucket.name) issues.push({ path: ['replication', 'bucketName'], message: 'must differ from bucket.name' });
  if (r.kmsKeyArn !== undefined && kmsKeyRegion(r.kmsKeyArn) !== r.region) {
    issues.push({ path: ['replication', 'kmsKeyArn'], message: `is a key in ${kmsKeyRegion(r.kmsKeyArn)}, but the replica bucket is in ${r.region}` });
  }
  return issues;
}

/** Checks the disaster-recovery sections against each other and the rest of the config. */
export function disasterRecoveryIssues(c: DisasterRecoveryFields): Issue[] {
  const issues: Issue[] = [];
  if (c.snapshots !== undefined) issues.push(...snapshotIssues(c, c.snapshots));
  if (c.replication !== undefined) issues.push(...replicationIssues(c, c.replication));
  if (c.objectLock !== undefined && c.bucket.existing) {
    issues.push({
      path: ['objectLock'],
      message: 'needs a bucket this stack creates (bucket.existing is true): Object Lock is set when a bucket is created; turn it on for an existing bucket in S3 itself',
    });
  }
  return issues;
}
