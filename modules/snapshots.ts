import { Construct } from 'constructs';
import type { TerraformProvider } from 'cdktf';
import { BackupPlan } from '@cdktf/provider-aws/lib/backup-plan/index.js';
import { BackupSelection } from '@cdktf/provider-aws/lib/backup-selection/index.js';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { selectionArnPatterns, snapshotRoleName, snapshotVaultName } from '../functions/shared/core/snapshot-selection.js';
import type { AccountContext } from './account-context.js';
import { SnapshotVault, type VaultLock } from './snapshot-vault.js';

/** The AWS-managed policies AWS Backup's service role needs to take and to restore snapshots. */
export const BACKUP_SERVICE_POLICIES = ['AWSBackupServiceRolePolicyForBackup', 'AWSBackupServiceRolePolicyForRestores'] as const;

/** Where recovery points are copied to. */
export interface SnapshotCopy {
  /** Provider of the copy region. */
  readonly provider: TerraformProvider;
  /** Days a copy is kept. */
  readonly retentionDays: number;
  /** KMS key of the copy vault, in the copy region. Default: created there. */
  readonly kmsKeyArn?: string;
}

/** Props of {@link SnapshotLayer}. */
export interface SnapshotLayerProps {
  /** Prefix of the vault, plan, selection and role names. */
  readonly namePrefix: string;
  /** KMS key of the vault. Default: a key created for it. */
  readonly kmsKeyArn?: string;
  /** AWS Backup cron expression of the plan, e.g. "cron(0 3 * * ? *)". */
  readonly schedule: string;
  /** IANA time zone of the schedule. */
  readonly timeZone: string;
  /** Days a recovery point is kept. */
  readonly retentionDays: number;
  /** The tag (exact key and value) that selects a resource. */
  readonly tag: { readonly key: string; readonly value: string };
  /** Copy every recovery point to a vault in another region. Default: no copy. */
  readonly copy?: SnapshotCopy;
  /** Vault Lock for the vault and the copy vault. Default: none. */
  readonly vaultLock?: VaultLock;
  /** Partition, for the managed policy and selection ARNs. */
  readonly account: AccountContext;
}

/**
 * AWS Backup of the tagged EBS volumes, EFS file systems, DynamoDB tables and RDS instances: a vault,
 * a daily plan with a retention, optionally a copy into a vault in a second region, and the service role.
 */
export class SnapshotLayer extends Construct {
  /** The vault in the deployment region. */
  readonly vault: SnapshotVault;
  /** The copy vault, when copies are made. */
  readonly copyVault?: SnapshotVault;
  /** ID of the backup plan. */
  readonly planId: string;
  /** ARN of the role AWS Backup takes and restores with. */
  readonly roleArn: string;

  constructor(scope: Construct, id: string, props: SnapshotLayerProps) {
    super(scope, id);
    const { namePrefix, account } = props;
    this.vault = new SnapshotVault(this, 'vault', { vaultName: snapshotVaultName(namePrefix), kmsKeyArn: props.kmsKeyArn, lock: props.vaultLock });
    const copy = props.copy;
    if (copy !== undefined) {
      this.copyVault = new SnapshotVault(this, 'copy-vault', {
        vaultName: snapshotVaultName(namePrefix, true),
        kmsKeyArn: copy.kmsKeyArn,
        lock: props.vaultLock,
        provider: copy.provider,
      });
    }

    const assume = new DataAwsIamPolicyDocument(this, 'assume', {
      statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['backup.amazonaws.com'] }] }],
    });
    const role = new IamRole(this, 'role', { name: snapshotRoleName(namePrefix), assumeRolePolicy: assume.json });
    this.roleArn = role.arn;
    for (const policy of BACKUP_SERVICE_POLICIES) {
      new IamRolePolicyAttachment(this, `policy-${policy}`, {
        role: role.name,
        policyArn: `arn:${account.partition}:iam::aws:policy/service-role/${policy}`,
      });
    }

    const plan = new BackupPlan(this, 'plan', {
      name: `${namePrefix}-snapshots`,
      rule: [
        {
          ruleName: 'daily',
          targetVaultName: this.vault.vaultName,
          schedule: props.schedule,
          scheduleExpressionTimezone: props.timeZone,
          // Start within an hour, finish within a day: AWS Backup's defaults, stated so the plan shows them.
          startWindow: 60,
          completionWindow: 24 * 60,
          lifecycle: { deleteAfter: props.retentionDays },
          ...(this.copyVault !== undefined && copy !== undefined
            ? { copyAction: [{ destinationVaultArn: this.copyVault.vaultArn, lifecycle: { deleteAfter: copy.retentionDays } }] }
            : {}),
        },
      ],
    });
    this.planId = plan.id;
    // Resources AND condition: only the four resource types, and of them only those carrying the tag.
    new BackupSelection(this, 'selection', {
      name: `${namePrefix}-tagged`,
      planId: plan.id,
      iamRoleArn: role.arn,
      resources: selectionArnPatterns(account.partition),
      condition: [{ stringEquals: [{ key: `aws:ResourceTag/${props.tag.key}`, value: props.tag.value }] }],
    });
  }
}
