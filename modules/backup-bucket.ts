import { Construct } from 'constructs';
import type { TerraformProvider } from 'cdktf';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketObjectLockConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning/index.js';
import type { AccountContext } from './account-context.js';
import { ConfigError } from '../functions/shared/errors.js';

/** Props of {@link BackupBucket}. */
export interface BackupBucketProps {
  /** Name of the bucket. */
  readonly bucketName: string;
  /**
   * Use a bucket that already exists and leave it exactly as it is (its owner manages its settings;
   * a second Terraform state writing its policy or lifecycle would fight the first). Default: false.
   */
  readonly existing?: boolean;
  /** Customer-managed KMS key for SSE-KMS. Default: SSE-S3 (AES256). */
  readonly kmsKeyArn?: string;
  /** Days a non-current object version is kept before it expires. */
  readonly retentionDays: number;
  /** Account and partition, for the bucket ARN. */
  readonly account: AccountContext;
  /**
   * S3 Object Lock default retention of every new object version (a new bucket only). Default: none.
   * Uploads must then carry Content-MD5 or an x-amz-checksum (the orchestrator's do).
   */
  readonly objectLock?: { readonly mode: 'governance' | 'compliance'; readonly days: number };
  /** Provider of the bucket's region. Default: the stack's default provider. */
  readonly provider?: TerraformProvider;
}

/**
 * The backup bucket: versioned, encrypted at rest, never public, TLS-only, non-current versions
 * expiring after the retention period and incomplete multipart uploads aborted after a day.
 * With `existing`, only its name and ARN are used.
 */
export class BackupBucket extends Construct {
  /** Bucket name. */
  readonly bucketName: string;
  /** Bucket ARN. */
  readonly bucketArn: string;
  /** The versioning setting of a bucket created here (replication must wait for it); undefined for an existing bucket. */
  readonly versioning?: S3BucketVersioningA;

  constructor(scope: Construct, id: string, props: BackupBucketProps) {
    super(scope, id);
    if (props.retentionDays < 1) throw new ConfigError(`BackupBucket: retentionDays must be at least 1, got ${props.retentionDays}`);
    if (props.existing === true) {
      if (props.objectLock !== undefined) throw new ConfigError('BackupBucket: objectLock needs a bucket this stack creates, not an existing one');
      this.bucketName = props.bucketName;
      this.bucketArn = props.account.bucketArn(props.bucketName);
      return;
    }
    const provider = props.provider;
    const lock = props.objectLock;
    const bucket = new S3Bucket(this, 'bucket', { provider, bucket: props.bucketName, ...(lock === undefined ? {} : { objectLockEnabled: true }) });
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;

    this.versioning = new S3BucketVersioningA(this, 'versioning', {
      provider,
      bucket: bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    if (lock !== undefined) {
      new S3BucketObjectLockConfigurationA(this, 'object-lock', {
        provider,
        bucket: bucket.id,
        rule: { defaultRetention: { mode: lock.mode.toUpperCase(), days: lock.days } },
        // S3 refuses this configuration unless versioning is Enabled: applied after it, and destroyed before it
        // (without the edge `terraform destroy` may suspend versioning first and then fail here).
        dependsOn: [this.versioning],
      });
    }
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      provider,
      bucket: bucket.id,
      rule: [
        props.kmsKeyArn === undefined
          ? { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }
          : {
              applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.kmsKeyArn },
              // S3 Bucket Keys cut KMS request costs by orders of magnitude for multipart uploads.
              bucketKeyEnabled: true,
            },
      ],
    });
    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      provider,
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      provider,
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      provider,
      bucket: bucket.id,
      rule: [
        {
          id: 'expire-noncurrent-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.retentionDays }],
        },
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });
    const tlsOnly = new DataAwsIamPolicyDocument(this, 'tls-only', {
      provider,
      statement: [
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          principals: [{ type: '*', identifiers: ['*'] }],
          actions: ['s3:*'],
          resources: [bucket.arn, `${bucket.arn}/*`],
          condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        },
      ],
    });
    new S3BucketPolicy(this, 'policy', {
      provider,
      bucket: bucket.id,
      policy: tlsOnly.json,
      // S3 rejects a policy while the public access block is being changed.
      dependsOn: [publicAccess],
    });
  }
}
