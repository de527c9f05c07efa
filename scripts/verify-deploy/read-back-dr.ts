import { DescribeBackupVaultCommand, GetBackupPlanCommand } from '@aws-sdk/client-backup';
import { DescribeRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, GetRolePolicyCommand, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetBucketEncryptionCommand, GetBucketReplicationCommand, GetBucketVersioningCommand, GetObjectLockConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BackupConfig } from '../../functions/shared/config/schema.js';
import { snapshotRoleName, snapshotVaultName } from '../../functions/shared/core/snapshot-selection.js';
import { BACKUP_JOB_FAILURE_PATTERN, BACKUP_JOB_INPUT_TEMPLATE } from '../../modules/backup-job-alarms.js';
import { BACKUP_SERVICE_POLICIES } from '../../modules/snapshots.js';
import { policyJson, sorted, stateValues, type ReadBackContext, type ReadBackRow } from './read-back.js';

/**
 * The read-back rows of the disaster-recovery layers (modules/disaster-recovery.ts): the snapshot vaults (KMS key,
 * lock), the plan's rule (schedule, retention, copy target and its retention), the service role, the job-failure
 * rule, the dump replication (rule, role, replica bucket) and Object Lock. The backup selection is plan-only
 * (moto has none: scripts/verify-deploy.ts PLAN_ONLY_RESOURCES), so it has no row.
 */

const snapshots = (config: BackupConfig) => config.snapshots !== undefined;
const copies = (config: BackupConfig) => config.snapshots?.copyToRegion !== undefined;
const replicated = (config: BackupConfig) => config.replication !== undefined;
const replica = (ctx: ReadBackContext) => ctx.config.replication!;
const replicationRole = (ctx: ReadBackContext) => `${ctx.config.name}-replication`;

async function vault(ctx: ReadBackContext, region: string, name: string) {
  const v = await ctx.clients.inRegion(region).backup.send(new DescribeBackupVaultCommand({ BackupVaultName: name }));
  return { arn: v.BackupVaultArn, kmsKey: v.EncryptionKeyArn, locked: v.Locked ?? false, minRetentionDays: v.MinRetentionDays, maxRetentionDays: v.MaxRetentionDays };
}

/** A vault as configured: its key (given, else the one the stack created for it) and the lock. */
function expectedVault(ctx: ReadBackContext, region: string, copy: boolean) {
  const s = ctx.config.snapshots!;
  const given = copy ? s.copyToRegion?.kmsKeyArn : s.kmsKeyArn;
  const name = snapshotVaultName(ctx.config.name, copy);
  return {
    arn: `arn:aws:backup:${region}:${ctx.accountId}:backup-vault:${name}`,
    kmsKey: given ?? stateValues(ctx, `aws_kms_key.dr_snapshots_${copy ? 'copy-vault' : 'vault'}_key`).arn,
    locked: s.vaultLock !== undefined,
    minRetentionDays: s.vaultLock?.minRetentionDays,
    maxRetentionDays: s.vaultLock?.maxRetentionDays,
  };
}

async function bucketSettings(s3: S3Client, bucket: string) {
  const rule = (await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0];
  return {
    versioning: (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status,
    encryption: rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
    kmsKey: rule?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID,
  };
}

async function objectLock(s3: S3Client, bucket: string) {
  const c = (await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration;
  return { enabled: c?.ObjectLockEnabled, mode: c?.Rule?.DefaultRetention?.Mode, days: c?.Rule?.DefaultRetention?.Days };
}

async function replicationRules(ctx: ReadBackContext) {
  return (await ctx.clients.s3.send(new GetBucketReplicationCommand({ Bucket: ctx.config.bucket.name }))).ReplicationConfiguration;
}

/** Every disaster-recovery property checked after a deploy. */
export const DISASTER_RECOVERY_ROWS: readonly ReadBackRow[] = [
  {
    what: 'snapshot vault: KMS key and lock',
    when: snapshots,
    read: (ctx) => vault(ctx, ctx.config.region, snapshotVaultName(ctx.config.name)),
    expected: (ctx) => expectedVault(ctx, ctx.config.region, false),
  },
  {
    what: 'snapshot copy vault in the copy region: KMS key and lock',
    when: copies,
    read: (ctx) => vault(ctx, ctx.config.snapshots!.copyToRegion!.region, snapshotVaultName(ctx.config.name, true)),
    expected: (ctx) => expectedVault(ctx, ctx.config.snapshots!.copyToRegion!.region, true),
  },
  {
    what: 'snapshot plan rule: schedule, windows, retention, copy target and its retention',
    when: snapshots,
    read: async (ctx) => {
      const id = String(stateValues(ctx, 'aws_backup_plan.dr_snapshots_plan').id);
      const plan = (await ctx.clients.inRegion(ctx.config.region).backup.send(new GetBackupPlanCommand({ BackupPlanId: id }))).BackupPlan;
      return {
        name: plan?.BackupPlanName,
        rules: (plan?.Rules ?? []).map((r) => ({
          name: r.RuleName, vault: r.TargetBackupVaultName, schedule: r.ScheduleExpression, timeZone: r.ScheduleExpressionTimezone,
          startWindow: r.StartWindowMinutes, completionWindow: r.CompletionWindowMinutes, deleteAfterDays: r.Lifecycle?.DeleteAfterDays,
          copies: (r.CopyActions ?? []).map((c) => ({ to: c.DestinationBackupVaultArn, deleteAfterDays: c.Lifecycle?.DeleteAfterDays })),
        })),
      };
    },
    expected: (ctx) => {
      const s = ctx.config.snapshots!;
      const copy = s.copyToRegion;
      return {
        name: `${ctx.config.name}-snapshots`,
        rules: [{
          name: 'daily', vault: snapshotVaultName(ctx.config.name), schedule: s.schedule, timeZone: s.timeZone, startWindow: 60, completionWindow: 24 * 60,
          deleteAfterDays: s.retentionDays,
          copies: copy === undefined ? [] : [{ to: expectedVault(ctx, copy.region, true).arn, deleteAfterDays: copy.retentionDays ?? s.retentionDays }],
        }],
      };
    },
  },
  {
    what: "snapshot service role: AWS Backup's trust and managed policies",
    when: snapshots,
    read: async (ctx) => {
      const name = snapshotRoleName(ctx.config.name);
      const trust = policyJson((await ctx.clients.iam.send(new GetRoleCommand({ RoleName: name }))).Role?.AssumeRolePolicyDocument).Statement.map((s) => s.Principal);
      const attached = (await ctx.clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies ?? [];
      return { trust, policies: sorted(attached.map((p) => p.PolicyArn)) };
    },
    expected: () => ({ trust: [{ Service: 'backup.amazonaws.com' }], policies: sorted(BACKUP_SERVICE_POLICIES.map((p) => `arn:aws:iam::aws:policy/service-role/${p}`)) }),
  },
  {
    what: 'AWS Backup job-failure rule: event pattern, and the alarm topic with the sentence',
    when: snapshots,
    read: async (ctx) => {
      const name = `${ctx.config.name}-backup-job-failed`;
      const rule = await ctx.clients.events.send(new DescribeRuleCommand({ Name: name }));
      const targets = (await ctx.clients.events.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? [];
      return { pattern: JSON.parse(rule.EventPattern ?? 'null') as unknown, state: rule.State, targets: targets.map((t) => ({ arn: t.Arn, template: t.InputTransformer?.InputTemplate })) };
    },
    expected: (ctx) => ({ pattern: BACKUP_JOB_FAILURE_PATTERN, state: 'ENABLED', targets: [{ arn: ctx.outputs.alarm_topic_arn, template: BACKUP_JOB_INPUT_TEMPLATE }] }),
  },
  {
    what: 'dump replication rule: role, destination, no delete markers',
    when: replicated,
    read: async (ctx) => {
      const c = await replicationRules(ctx);
      return {
        role: c?.Role,
        rules: (c?.Rules ?? []).map((r) => ({
          id: r.ID, status: r.Status, priority: r.Priority, deleteMarkers: r.DeleteMarkerReplication?.Status,
          destination: r.Destination?.Bucket, replicaKmsKey: r.Destination?.EncryptionConfiguration?.ReplicaKmsKeyID,
        })),
      };
    },
    expected: (ctx) => ({
      role: `arn:aws:iam::${ctx.accountId}:role/${replicationRole(ctx)}`,
      rules: [{ id: 'dumps-to-replica', status: 'Enabled', priority: 1, deleteMarkers: 'Disabled', destination: `arn:aws:s3:::${replica(ctx).bucketName}`, replicaKmsKey: replica(ctx).kmsKeyArn }],
    }),
  },
  {
    what: 'dump replication rule: only the key prefix',
    when: replicated,
    read: async (ctx) => (await replicationRules(ctx))?.Rules?.map((r) => r.Filter?.Prefix),
    expected: (ctx) => [ctx.config.keyPrefix],
    emulatorGap: { reads: [""], why: "moto 5.2's PutBucketReplication drops a rule's filter: it reads back an empty prefix" },
  },
  {
    what: 'replication role policy document (as synthesized)',
    when: replicated,
    read: async (ctx) => policyJson((await ctx.clients.iam.send(new GetRolePolicyCommand({ RoleName: replicationRole(ctx), PolicyName: replicationRole(ctx) }))).PolicyDocument),
    expected: (ctx) => JSON.parse(String(stateValues(ctx, 'data.aws_iam_policy_document.dr_replication_permissions').json)),
  },
  {
    what: 'replica bucket in the second region: versioning and encryption',
    when: replicated,
    read: (ctx) => bucketSettings(ctx.clients.inRegion(replica(ctx).region).s3, replica(ctx).bucketName),
    expected: (ctx) => ({ versioning: 'Enabled', encryption: replica(ctx).kmsKeyArn === undefined ? 'AES256' : 'aws:kms', kmsKey: replica(ctx).kmsKeyArn }),
  },
  {
    what: 'Object Lock default retention of the dump bucket and the replica',
    when: (config) => config.objectLock !== undefined,
    read: async (ctx) => ({
      bucket: await objectLock(ctx.clients.s3, ctx.config.bucket.name),
      ...(ctx.config.replication === undefined ? {} : { replica: await objectLock(ctx.clients.inRegion(replica(ctx).region).s3, replica(ctx).bucketName) }),
    }),
    expected: (ctx) => {
      const lock = { enabled: 'Enabled', mode: ctx.config.objectLock!.mode.toUpperCase(), days: ctx.config.objectLock!.days };
      return { bucket: lock, ...(ctx.config.replication === undefined ? {} : { replica: lock }) };
    },
  },
];
