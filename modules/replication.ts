import { Construct } from 'constructs';
import type { ITerraformDependable, TerraformProvider } from 'cdktf';
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { S3BucketReplicationConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-replication-configuration/index.js';
import type { AccountContext } from './account-context.js';
import { BackupBucket } from './backup-bucket.js';

/** What the replication role may do on the source objects (read a version with its ACL and tags to copy it). */
export const REPLICATION_SOURCE_ACTIONS = ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'] as const;
/** What it may do on the source objects of an Object-Locked bucket, so replicas keep their retention. */
export const REPLICATION_LOCK_ACTIONS = ['s3:GetObjectRetention', 's3:GetObjectLegalHold'] as const;
/** What it may do in the replica bucket: write replicas and their tags, never deletes (s3:ReplicateDelete). */
export const REPLICATION_DESTINATION_ACTIONS = ['s3:ReplicateObject', 's3:ReplicateTags'] as const;

/** Props of {@link DumpReplication}. */
export interface DumpReplicationProps {
  /** Prefix of the role's name. */
  readonly namePrefix: string;
  /** Name of the source (dump) bucket. */
  readonly sourceBucketName: string;
  /** ARN of the source bucket. */
  readonly sourceBucketArn: string;
  /** KMS key of the source bucket. Default: SSE-S3, no KMS permissions. */
  readonly sourceKmsKeyArn?: string;
  /** Region of the source bucket (for kms:ViaService). */
  readonly sourceRegion: string;
  /** What the replication configuration must wait for (the source's versioning, when created here). Default: nothing. */
  readonly sourceReady?: readonly ITerraformDependable[];
  /** Key prefix of the dumps: only objects under it are replicated. */
  readonly keyPrefix: string;
  /** Provider of the replica's region. */
  readonly replicaProvider: TerraformProvider;
  /** Region of the replica bucket. */
  readonly replicaRegion: string;
  /** Name of the replica bucket (created here). */
  readonly replicaBucketName: string;
  /** KMS key (in the replica region) the replicas are encrypted with. Default: SSE-S3. */
  readonly replicaKmsKeyArn?: string;
  /** Days non-current replica versions are kept. */
  readonly retentionDays: number;
  /** Object Lock of the replica bucket (S3 requires it when the source has Object Lock). Default: none. */
  readonly objectLock?: { readonly mode: 'governance' | 'compliance'; readonly days: number };
  /** Account and partition. */
  readonly account: AccountContext;
}

/** The KMS statement for one side of the copy: only through S3 in that region, only for that bucket's objects. */
function kmsStatement(sid: string, action: string, keyArn: string, region: string, bucketArn: string, keyPrefix: string): DataAwsIamPolicyDocumentStatement {
  return {
    sid,
    actions: [action],
    resources: [keyArn],
    condition: [
      { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${region}.amazonaws.com`] },
      // With S3 Bucket Keys the encryption context is the bucket's ARN, without them the object's.
      { test: 'StringLike', variable: 'kms:EncryptionContext:aws:s3:arn', values: [bucketArn, `${bucketArn}/${keyPrefix}*`] },
    ],
  };
}

/**
 * Replication of the dumps into a bucket in a second region: the replica bucket (versioned, encrypted,
 * never public, TLS-only), a least-privilege role, and a rule that copies new versions under the key
 * prefix but not delete markers, so deleting in the source never deletes a replica.
 */
export class DumpReplication extends Construct {
  /** The replica bucket. */
  readonly replica: BackupBucket;
  /** ARN of the replication role. */
  readonly roleArn: string;

  constructor(scope: Construct, id: string, props: DumpReplicationProps) {
    super(scope, id);
    const { account, keyPrefix } = props;
    this.replica = new BackupBucket(this, 'replica', {
      bucketName: props.replicaBucketName,
      kmsKeyArn: props.replicaKmsKeyArn,
      retentionDays: props.retentionDays,
      objectLock: props.objectLock,
      provider: props.replicaProvider,
      account,
    });
    const assume = new DataAwsIamPolicyDocument(this, 'assume', {
      statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['s3.amazonaws.com'] }] }],
    });
    const role = new IamRole(this, 'role', { name: `${props.namePrefix}-replication`, assumeRolePolicy: assume.json });
    this.roleArn = role.arn;
    const statements: DataAwsIamPolicyDocumentStatement[] = [
      { sid: 'ReadReplicationConfiguration', actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [props.sourceBucketArn] },
      {
        sid: 'ReadSourceVersions',
        actions: [...REPLICATION_SOURCE_ACTIONS, ...(props.objectLock === undefined ? [] : REPLICATION_LOCK_ACTIONS)],
        resources: [`${props.sourceBucketArn}/${keyPrefix}*`],
      },
      { sid: 'WriteReplicas', actions: [...REPLICATION_DESTINATION_ACTIONS], resources: [`${this.replica.bucketArn}/${keyPrefix}*`] },
    ];
    if (props.sourceKmsKeyArn !== undefined) {
      statements.push(kmsStatement('DecryptSource', 'kms:Decrypt', props.sourceKmsKeyArn, props.sourceRegion, props.sourceBucketArn, keyPrefix));
    }
    if (props.replicaKmsKeyArn !== undefined) {
      statements.push(kmsStatement('EncryptReplicas', 'kms:Encrypt', props.replicaKmsKeyArn, props.replicaRegion, this.replica.bucketArn, keyPrefix));
    }
    const policy = new DataAwsIamPolicyDocument(this, 'permissions', { statement: statements });
    new IamRolePolicy(this, 'policy', { name: `${props.namePrefix}-replication`, role: role.id, policy: policy.json });

    new S3BucketReplicationConfigurationA(this, 'configuration', {
      bucket: props.sourceBucketName,
      role: role.arn,
      rule: [
        {
          id: 'dumps-to-replica',
          status: 'Enabled',
          priority: 1,
          filter: { prefix: keyPrefix },
          deleteMarkerReplication: { status: 'Disabled' },
          destination: {
            bucket: this.replica.bucketArn,
            ...(props.replicaKmsKeyArn === undefined ? {} : { encryptionConfiguration: { replicaKmsKeyId: props.replicaKmsKeyArn } }),
          },
          // SSE-KMS objects are replicated only when the rule says so.
          ...(props.sourceKmsKeyArn === undefined ? {} : { sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } } }),
        },
      ],
      dependsOn: [...(props.sourceReady ?? []), ...(this.replica.versioning === undefined ? [] : [this.replica.versioning])],
    });
  }
}
