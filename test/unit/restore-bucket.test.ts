import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { sourceBucket, sourceBucketRefusal, SourceBucketRefusedError } from '../../functions/orchestrator/restore/restore-bucket.js';

const REPLICATED = { bucket: 'backups', replica: { bucket: 'backups-replica', region: 'eu-central-1' } };
const PLAIN = { bucket: 'backups', replica: undefined };

describe('sourceBucketRefusal', () => {
  it.each([
    ['the deployment bucket (no from)', REPLICATED, undefined],
    ['the configured replica in its region', REPLICATED, { bucket: 'backups-replica', region: 'eu-central-1' }],
    ['the deployment bucket without replication', PLAIN, undefined],
  ])('lets a restore read %s', (_case, env, from) => {
    expect(sourceBucketRefusal(env, from)).toBeNull();
  });

  it.each([
    ['another bucket', REPLICATED, { bucket: 'attacker-bucket', region: 'eu-central-1' }, 'a restore reads s3://backups or the replica s3://backups-replica in eu-central-1 only, not s3://attacker-bucket in eu-central-1'],
    ['the replica in another region', REPLICATED, { bucket: 'backups-replica', region: 'us-east-1' }, 'a restore reads s3://backups or the replica s3://backups-replica in eu-central-1 only, not s3://backups-replica in us-east-1'],
    ['the deployment bucket named as a replica', REPLICATED, { bucket: 'backups', region: 'eu-central-1' }, 'a restore reads s3://backups or the replica s3://backups-replica in eu-central-1 only, not s3://backups in eu-central-1'],
    ['any replica without replication', PLAIN, { bucket: 'backups-replica', region: 'eu-central-1' }, "this deployment has no replica (replication is not configured), so it restores from s3://backups only: leave the request's from field out (restore without --region)"],
  ])('refuses %s', (_case, env, from, message) => {
    expect(sourceBucketRefusal(env, from)).toBe(message);
  });
});

describe('sourceBucket', () => {
  const s3 = new S3Client({ region: 'eu-west-1' });
  const replicaS3 = new S3Client({ region: 'eu-central-1' });

  it("reads the replica with the replica region's client, the deployment bucket with the default one", () => {
    expect(sourceBucket({ env: REPLICATED as never, s3, replicaS3 }, { bucket: 'backups-replica', region: 'eu-central-1' })).toEqual({ s3: replicaS3, bucket: 'backups-replica', replicaRegion: 'eu-central-1' });
    expect(sourceBucket({ env: REPLICATED as never, s3, replicaS3 }, undefined)).toEqual({ s3, bucket: 'backups' });
  });

  it('throws the refusal', () => {
    expect(() => sourceBucket({ env: REPLICATED as never, s3, replicaS3 }, { bucket: 'other', region: 'eu-central-1' })).toThrow(SourceBucketRefusedError);
  });
});
