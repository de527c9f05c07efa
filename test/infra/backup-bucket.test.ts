import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, onlyResource, policyStatements, readable, resources, synthStack } from '../helpers/synth.js';

const KMS = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('backup bucket', () => {
  it('creates a versioned bucket with SSE-S3 by default', () => {
    const synth = synthStack();
    expect(onlyResource(synth, 'aws_s3_bucket')).toMatchObject({ bucket: 'acme-db-backups' });
    expect(onlyResource(synth, 'aws_s3_bucket_versioning')).toMatchObject({ versioning_configuration: { status: 'Enabled' } });
    expect(onlyResource(synth, 'aws_s3_bucket_server_side_encryption_configuration').rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } },
    ]);
  });

  it('encrypts with the configured KMS key and a bucket key', () => {
    const synth = synthStack({ ...BASE_CONFIG, kmsKeyArn: KMS });
    expect(onlyResource(synth, 'aws_s3_bucket_server_side_encryption_configuration').rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: KMS }, bucket_key_enabled: true },
    ]);
  });

  it('blocks every kind of public access and disables ACLs', () => {
    const synth = synthStack();
    expect(onlyResource(synth, 'aws_s3_bucket_public_access_block')).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(onlyResource(synth, 'aws_s3_bucket_ownership_controls')).toMatchObject({ rule: { object_ownership: 'BucketOwnerEnforced' } });
  });

  it('denies every request that is not over TLS', () => {
    const synth = synthStack();
    expect(policyStatements(synth, 'tls-only')).toEqual([
      {
        sid: 'DenyInsecureTransport',
        effect: 'Deny',
        principals: [{ type: '*', identifiers: ['*'] }],
        actions: ['s3:*'],
        resources: ['${aws_s3_bucket.bucket_3056591E.arn}', '${aws_s3_bucket.bucket_3056591E.arn}/*'],
        condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
      },
    ]);
    expect(onlyResource(synth, 'aws_s3_bucket_policy').policy).toMatch(/^\$\{data\.aws_iam_policy_document\.bucket_tls-only_\w+\.json\}$/);
  });

  it.each([
    [35, undefined],
    [7, 7],
    [400, 400],
  ])('expires non-current versions after %i days (retentionDays %s) and aborts uploads after a day', (days, retentionDays) => {
    const synth = synthStack({ ...BASE_CONFIG, ...(retentionDays === undefined ? {} : { retentionDays }) });
    expect(onlyResource(synth, 'aws_s3_bucket_lifecycle_configuration').rule).toEqual([
      { id: 'expire-noncurrent-versions', status: 'Enabled', filter: [{ prefix: '' }], noncurrent_version_expiration: [{ noncurrent_days: days }] },
      { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', filter: [{ prefix: '' }], abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }] },
    ]);
  });

  it('leaves an existing bucket untouched and grants on its ARN', () => {
    const synth = synthStack({ ...BASE_CONFIG, bucket: { name: 'shared-backups', existing: true } });
    for (const type of [
      'aws_s3_bucket',
      'aws_s3_bucket_versioning',
      'aws_s3_bucket_policy',
      'aws_s3_bucket_lifecycle_configuration',
      'aws_s3_bucket_public_access_block',
      'aws_s3_bucket_server_side_encryption_configuration',
    ]) {
      expect(resources(synth, type), type).toEqual([]);
    }
    const objects = readable(policyStatements(synth, 'role_permissions')).find((s) => s.sid === 'S3ObjectsUnderPrefix');
    expect(objects?.resources).toEqual(['arn:aws:s3:::shared-backups/ecs-db-backup/*']);
    expect(synth.output?.bucket_name?.value).toBe('shared-backups');
  });

  it('has no Object Lock unless configured', () => {
    const synth = synthStack();
    expect(onlyResource(synth, 'aws_s3_bucket')).not.toHaveProperty('object_lock_enabled');
    expect(resources(synth, 'aws_s3_bucket_object_lock_configuration')).toEqual([]);
  });

  it.each([
    ['governance', 'GOVERNANCE', 14],
    ['compliance', 'COMPLIANCE', 400],
  ] as const)('locks every new version for the configured days in %s mode', (mode, s3Mode, days) => {
    const synth = synthStack({ ...BASE_CONFIG, objectLock: { mode, days } });
    expect(onlyResource(synth, 'aws_s3_bucket')).toEqual({ bucket: 'acme-db-backups', object_lock_enabled: true });
    expect(onlyResource(synth, 'aws_s3_bucket_object_lock_configuration')).toEqual({
      bucket: '${aws_s3_bucket.bucket_3056591E.id}',
      rule: { default_retention: { mode: s3Mode, days } },
      // S3 needs versioning Enabled under it: applied after, destroyed before.
      depends_on: ['aws_s3_bucket_versioning.bucket_versioning_FFA4302A'],
    });
  });
});
