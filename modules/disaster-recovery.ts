import { Construct } from 'constructs';
import { TerraformOutput, type ITerraformDependable } from 'cdktf';
import type { BackupConfig } from '../functions/shared/config/schema.js';
import type { AccountContext } from './account-context.js';
import { BackupJobAlarms } from './backup-job-alarms.js';
import { RegionalProviders } from './regional-providers.js';
import { DumpReplication } from './replication.js';
import { SnapshotLayer } from './snapshots.js';

/** The regions other than the deployment's that the config puts resources in (each gets an aliased provider). */
export function secondRegions(config: BackupConfig): string[] {
  const regions = [config.snapshots?.copyToRegion?.region, config.replication?.region].filter((r): r is string => r !== undefined);
  return [...new Set(regions)];
}

/** Props of {@link DisasterRecovery}. */
export interface DisasterRecoveryProps {
  /** The validated configuration (its `snapshots` and `replication` sections; each off unless set). */
  readonly config: BackupConfig;
  /** Prefix of every resource name. */
  readonly namePrefix: string;
  /** The dump bucket. */
  readonly bucket: { readonly bucketName: string; readonly bucketArn: string; readonly versioning?: ITerraformDependable };
  /** ARN of the alarm topic (AWS Backup job failures go there). */
  readonly alarmTopicArn: string;
  /** Tags of the second region's provider (the default provider's). */
  readonly defaultTags: Record<string, string>;
  /** Account and partition. */
  readonly account: AccountContext;
}

/**
 * The layers beyond the daily dumps: AWS Backup snapshots of tagged resources (copied to a second
 * region when configured, with job failures alarmed) and replication of the dumps to a second region.
 */
export class DisasterRecovery extends Construct {
  constructor(scope: Construct, id: string, props: DisasterRecoveryProps) {
    super(scope, id);
    const { config, namePrefix, account } = props;
    const regions = new RegionalProviders(this, 'regions', { defaultTags: props.defaultTags });
    const s = config.snapshots;
    if (s !== undefined) {
      const layer = new SnapshotLayer(this, 'snapshots', {
        namePrefix,
        kmsKeyArn: s.kmsKeyArn,
        schedule: s.schedule,
        timeZone: s.timeZone,
        retentionDays: s.retentionDays,
        tag: s.tag,
        vaultLock: s.vaultLock,
        ...(s.copyToRegion === undefined
          ? {}
          : {
              copy: {
                provider: regions.forRegion(s.copyToRegion.region),
                retentionDays: s.copyToRegion.retentionDays ?? s.retentionDays,
                kmsKeyArn: s.copyToRegion.kmsKeyArn,
              },
            }),
        account,
      });
      new BackupJobAlarms(this, 'job-alarms', { namePrefix, topicArn: props.alarmTopicArn, account });
      new TerraformOutput(this, 'snapshot_vault_name', { value: layer.vault.vaultName, description: 'AWS Backup vault of the snapshots.' });
      if (layer.copyVault !== undefined) {
        new TerraformOutput(this, 'snapshot_copy_vault_arn', { value: layer.copyVault.vaultArn, description: 'AWS Backup vault the snapshots are copied to.' });
      }
    }
    const r = config.replication;
    if (r !== undefined) {
      const replication = new DumpReplication(this, 'replication', {
        namePrefix,
        sourceBucketName: props.bucket.bucketName,
        sourceBucketArn: props.bucket.bucketArn,
        sourceKmsKeyArn: config.kmsKeyArn,
        sourceRegion: config.region,
        sourceReady: props.bucket.versioning === undefined ? [] : [props.bucket.versioning],
        keyPrefix: config.keyPrefix,
        replicaProvider: regions.forRegion(r.region),
        replicaRegion: r.region,
        replicaBucketName: r.bucketName,
        replicaKmsKeyArn: r.kmsKeyArn,
        retentionDays: r.retentionDays ?? config.retentionDays,
        objectLock: config.objectLock,
        account,
      });
      new TerraformOutput(this, 'replica_bucket_name', { value: replication.replica.bucketName, description: 'Bucket in the second region the dumps are replicated to.' });
    }
  }
}
