import { Construct } from 'constructs';
import type { TerraformProvider } from 'cdktf';
import { BackupVault } from '@cdktf/provider-aws/lib/backup-vault/index.js';
import { BackupVaultLockConfiguration } from '@cdktf/provider-aws/lib/backup-vault-lock-configuration/index.js';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { MIN_CHANGEABLE_FOR_DAYS } from '../functions/shared/config/disaster-recovery.js';

/** AWS Backup Vault Lock settings. */
export interface VaultLock {
  /** governance: can be lifted by a principal allowed to; compliance: immutable once changeableForDays have passed. */
  readonly mode: 'governance' | 'compliance';
  /** Shortest retention a recovery point may have. */
  readonly minRetentionDays: number;
  /** Longest retention a recovery point may have. */
  readonly maxRetentionDays: number;
  /** Compliance mode: the grace period in days. Default: 3 (AWS Backup's minimum). */
  readonly changeableForDays?: number;
}

/** Props of {@link SnapshotVault}. */
export interface SnapshotVaultProps {
  /** Name of the vault (and of the created key's alias). */
  readonly vaultName: string;
  /** KMS key ARN that encrypts the recovery points. Default: a key created here, with rotation on. */
  readonly kmsKeyArn?: string;
  /** Vault Lock. Default: none (recovery points can be deleted by whoever may delete them). */
  readonly lock?: VaultLock;
  /** Provider of the vault's region. Default: the stack's default provider. */
  readonly provider?: TerraformProvider;
}

/** An AWS Backup vault encrypted with a customer-managed KMS key, optionally locked. */
export class SnapshotVault extends Construct {
  /** Vault name. */
  readonly vaultName: string;
  /** Vault ARN. */
  readonly vaultArn: string;
  /** ARN of the KMS key the vault encrypts with (given or created). */
  readonly kmsKeyArn: string;

  constructor(scope: Construct, id: string, props: SnapshotVaultProps) {
    super(scope, id);
    const provider = props.provider;
    let kmsKeyArn = props.kmsKeyArn;
    if (kmsKeyArn === undefined) {
      const key = new KmsKey(this, 'key', {
        provider,
        description: `Encrypts the recovery points in the AWS Backup vault ${props.vaultName}.`,
        enableKeyRotation: true,
        // A key scheduled for deletion takes every recovery point with it: the longest wait AWS allows.
        deletionWindowInDays: 30,
      });
      new KmsAlias(this, 'alias', { provider, name: `alias/${props.vaultName}`, targetKeyId: key.keyId });
      kmsKeyArn = key.arn;
    }
    this.kmsKeyArn = kmsKeyArn;
    const vault = new BackupVault(this, 'vault', { provider, name: props.vaultName, kmsKeyArn });
    this.vaultName = vault.name;
    this.vaultArn = vault.arn;
    const lock = props.lock;
    if (lock !== undefined) {
      new BackupVaultLockConfiguration(this, 'lock', {
        provider,
        backupVaultName: vault.name,
        minRetentionDays: lock.minRetentionDays,
        maxRetentionDays: lock.maxRetentionDays,
        // Without changeable_for_days the lock is in governance mode; with it, compliance mode after the grace period.
        ...(lock.mode === 'compliance' ? { changeableForDays: lock.changeableForDays ?? MIN_CHANGEABLE_FOR_DAYS } : {}),
      });
    }
  }
}
