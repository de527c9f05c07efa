import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, onlyResource, policyStatements, readable, resources, synthStack } from '../helpers/synth.js';

const SOURCE_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const REPLICA_KEY = 'arn:aws:kms:eu-central-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const REPLICATION = { region: 'eu-central-1', bucketName: 'acme-db-backups-replica' };
const SOURCE_ARN = '${aws_s3_bucket.bucket_3056591E.arn}';
const REPLICA_ARN = expect.stringMatching(/^\$\{aws_s3_bucket\.dr_replication_replica_bucket_\w+\.arn\}$/);
const replicaObjects = (prefix: string) => expect.stringMatching(new RegExp(`^\\$\\{aws_s3_bucket\\.dr_replication_replica_bucket_\\w+\\.arn\\}/${prefix}\\*$`));

const synth = (extra: object = {}) => synthStack({ ...BASE_CONFIG, replication: REPLICATION, ...extra });
const replicaOf = (s: ReturnType<typeof synthStack>, type: string) => resources(s, type).find((r) => r.provider === 'aws.eu_central_1');

describe('dump replication', () => {
  it('is off unless configured', () => {
    expect(resources(synthStack(), 'aws_s3_bucket_replication_configuration')).toEqual([]);
    expect(resources(synthStack(), 'aws_s3_bucket')).toHaveLength(1);
  });

  it('creates the replica bucket in the second region: versioned, SSE-S3, never public, TLS-only, expiring old versions', () => {
    const s = synth({ retentionDays: 20 });
    expect(replicaOf(s, 'aws_s3_bucket')).toEqual({ bucket: 'acme-db-backups-replica', provider: 'aws.eu_central_1' });
    expect(replicaOf(s, 'aws_s3_bucket_versioning')).toMatchObject({ versioning_configuration: { status: 'Enabled' } });
    expect(replicaOf(s, 'aws_s3_bucket_server_side_encryption_configuration')?.rule).toEqual([{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }]);
    expect(replicaOf(s, 'aws_s3_bucket_public_access_block')).toMatchObject({ block_public_acls: true, restrict_public_buckets: true });
    expect(replicaOf(s, 'aws_s3_bucket_policy')).toBeDefined();
    expect((replicaOf(s, 'aws_s3_bucket_lifecycle_configuration')?.rule as object[])[0]).toMatchObject({ noncurrent_version_expiration: [{ noncurrent_days: 20 }] });
  });

  it('encrypts replicas with the replica region key when given, and keeps its own retention', () => {
    const s = synth({ kmsKeyArn: SOURCE_KEY, replication: { ...REPLICATION, kmsKeyArn: REPLICA_KEY, retentionDays: 90 } });
    expect(replicaOf(s, 'aws_s3_bucket_server_side_encryption_configuration')?.rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: REPLICA_KEY }, bucket_key_enabled: true },
    ]);
    expect((replicaOf(s, 'aws_s3_bucket_lifecycle_configuration')?.rule as object[])[0]).toMatchObject({ noncurrent_version_expiration: [{ noncurrent_days: 90 }] });
    const rule = (onlyResource(s, 'aws_s3_bucket_replication_configuration').rule as Array<Record<string, unknown>>)[0];
    expect(rule?.destination).toEqual({ bucket: REPLICA_ARN, encryption_configuration: { replica_kms_key_id: REPLICA_KEY } });
    expect(rule?.source_selection_criteria).toEqual({ sse_kms_encrypted_objects: { status: 'Enabled' } });
  });

  it('replicates new versions under the key prefix, never delete markers, once both buckets are versioned', () => {
    const config = onlyResource(synth({ keyPrefix: 'db/prod/' }), 'aws_s3_bucket_replication_configuration');
    expect(config).toEqual({
      bucket: '${aws_s3_bucket.bucket_3056591E.bucket}',
      role: expect.stringMatching(/^\$\{aws_iam_role\.dr_replication_role_\w+\.arn\}$/),
      rule: [
        {
          id: 'dumps-to-replica',
          status: 'Enabled',
          priority: 1,
          filter: { prefix: 'db/prod/' },
          delete_marker_replication: { status: 'Disabled' },
          destination: { bucket: REPLICA_ARN },
        },
      ],
      depends_on: [expect.stringMatching(/^aws_s3_bucket_versioning\.bucket_versioning_/), expect.stringMatching(/^aws_s3_bucket_versioning\.dr_replication_replica_versioning_/)],
    });
  });

  it('replicates an existing bucket by name', () => {
    const config = onlyResource(synth({ bucket: { name: 'shared-backups', existing: true } }), 'aws_s3_bucket_replication_configuration');
    expect(config.bucket).toBe('shared-backups');
    expect(config.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_versioning\.dr_replication_replica_versioning_/)]);
  });

  it('gives the role, which only S3 can take, read on the source versions and write of replicas under the prefix, and no deletes', () => {
    const s = synth({ keyPrefix: 'db/' });
    expect(policyStatements(s, 'dr_replication_assume')).toEqual([{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['s3.amazonaws.com'] }] }]);
    const statements = policyStatements(s, 'dr_replication_permissions');
    expect(statements).toEqual([
      { sid: 'ReadReplicationConfiguration', actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [SOURCE_ARN] },
      { sid: 'ReadSourceVersions', actions: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'], resources: [`${SOURCE_ARN}/db/*`] },
      { sid: 'WriteReplicas', actions: ['s3:ReplicateObject', 's3:ReplicateTags'], resources: [replicaObjects('db/')] },
    ]);
    expect(statements.flatMap((st) => st.actions)).not.toContain('s3:ReplicateDelete');
    expect(resources(s, 'aws_iam_role_policy').find((p) => p.name === 'ecs-db-backup-replication')?.policy).toMatch(/dr_replication_permissions_\w+\.json/);
  });

  it('lets the role use each KMS key only through S3 in its region and only for its bucket', () => {
    const statements = readable(policyStatements(synth({ kmsKeyArn: SOURCE_KEY, replication: { ...REPLICATION, kmsKeyArn: REPLICA_KEY } }), 'dr_replication_permissions'));
    expect(statements.slice(3)).toEqual([
      {
        sid: 'DecryptSource',
        actions: ['kms:Decrypt'],
        resources: [SOURCE_KEY],
        condition: [
          { test: 'StringEquals', variable: 'kms:ViaService', values: ['s3.eu-west-1.amazonaws.com'] },
          { test: 'StringLike', variable: 'kms:EncryptionContext:aws:s3:arn', values: [SOURCE_ARN, `${SOURCE_ARN}/ecs-db-backup/*`] },
        ],
      },
      {
        sid: 'EncryptReplicas',
        actions: ['kms:Encrypt'],
        resources: [REPLICA_KEY],
        condition: [
          { test: 'StringEquals', variable: 'kms:ViaService', values: ['s3.eu-central-1.amazonaws.com'] },
          { test: 'StringLike', variable: 'kms:EncryptionContext:aws:s3:arn', values: [REPLICA_ARN, replicaObjects('ecs-db-backup/')] },
        ],
      },
    ]);
  });

  it('locks the replica like the source and lets the role read the retention it copies', () => {
    const s = synth({ objectLock: { mode: 'compliance', days: 30 } });
    expect(replicaOf(s, 'aws_s3_bucket')).toMatchObject({ object_lock_enabled: true });
    expect(replicaOf(s, 'aws_s3_bucket_object_lock_configuration')).toMatchObject({ rule: { default_retention: { mode: 'COMPLIANCE', days: 30 } } });
    const read = policyStatements(s, 'dr_replication_permissions').find((st) => st.sid === 'ReadSourceVersions');
    expect(read?.actions).toEqual(['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging', 's3:GetObjectRetention', 's3:GetObjectLegalHold']);
  });

  it('shares one provider with the snapshot copy vault in the same region', () => {
    const s = synth({ snapshots: { copyToRegion: { region: 'eu-central-1' } } });
    expect(s.provider?.aws?.filter((p) => (p as { alias?: string }).alias === 'eu_central_1')).toHaveLength(1);
  });

  it('lets the orchestrator read the replica (restores from it) and tells it which one, only with replication', () => {
    const variables = (s: ReturnType<typeof synthStack>) => (onlyResource(s, 'aws_lambda_function').environment as { variables: Record<string, string> }).variables;
    const replicaReads = (s: ReturnType<typeof synthStack>) => readable(policyStatements(s, 'role_permissions').filter((st) => /Replica/.test(st.sid ?? '')));
    const s = synth({ replication: { ...REPLICATION, kmsKeyArn: REPLICA_KEY } });
    expect(variables(s)).toMatchObject({ REPLICA_BUCKET: 'acme-db-backups-replica', REPLICA_REGION: 'eu-central-1' });
    expect(replicaReads(s)).toEqual([
      { sid: 'S3ReadReplicaUnderPrefix', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: ['arn:aws:s3:::acme-db-backups-replica/ecs-db-backup/*'] },
      {
        sid: 'S3ListReplicaUnderPrefix',
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resources: ['arn:aws:s3:::acme-db-backups-replica'],
        condition: [{ test: 'StringLike', variable: 's3:prefix', values: ['ecs-db-backup/*'] }],
      },
      { sid: 'KmsDecryptReplicaObjects', actions: ['kms:Decrypt'], resources: [REPLICA_KEY], condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: ['s3.eu-central-1.amazonaws.com'] }] },
    ]);
    const plain = synthStack();
    expect(Object.keys(variables(plain)).filter((k) => k.startsWith('REPLICA_'))).toEqual([]);
    expect(replicaReads(plain)).toEqual([]);
  });
});
