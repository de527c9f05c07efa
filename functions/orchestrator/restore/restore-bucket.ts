import type { S3Client } from '@aws-sdk/client-s3';
import { BackupError } from '../../shared/errors.js';
import type { Deps } from '../deps.js';
import type { OrchestratorEnv } from '../env.js';

/**
 * Which bucket a restore reads its backup from: the deployment's, or (named in the request) the replica in the
 * second region that `replication` configures. Nothing else: the request names the bucket, but only the one the
 * stack deployed is accepted, so a restore never reads from an arbitrary bucket. Checked when the request comes in
 * and again before every download (the run record on EFS could have been changed meanwhile).
 */

/** A bucket named in a restore request (and kept in its run record). */
export interface RestoreFrom {
  bucket: string;
  region: string;
}

/** The bucket asked for is not one a restore may read; nothing was read. */
export class SourceBucketRefusedError extends BackupError {}

/** The bucket a restore reads and the client for its region. */
export interface SourceBucket {
  s3: S3Client;
  bucket: string;
  /** Set when reading the replica (its region). */
  replicaRegion?: string;
}

/** Why `from` may not be read, or null. Pure. */
export function sourceBucketRefusal(env: Pick<OrchestratorEnv, 'bucket' | 'replica'>, from: RestoreFrom | undefined): string | null {
  if (from === undefined) return null;
  const replica = env.replica;
  if (replica === undefined) {
    return `this deployment has no replica (replication is not configured), so it restores from s3://${env.bucket} only: leave the request's from field out (restore without --region)`;
  }
  if (from.bucket !== replica.bucket || from.region !== replica.region) {
    return `a restore reads s3://${env.bucket} or the replica s3://${replica.bucket} in ${replica.region} only, not s3://${from.bucket} in ${from.region}`;
  }
  return null;
}

/** The bucket and client of a restore reading `from` (default: the deployment's bucket); throws SourceBucketRefusedError. */
export function sourceBucket(deps: Pick<Deps, 'env' | 's3' | 'replicaS3'>, from: RestoreFrom | undefined): SourceBucket {
  const refusal = sourceBucketRefusal(deps.env, from);
  if (refusal !== null) throw new SourceBucketRefusedError(refusal);
  if (from === undefined) return { s3: deps.s3, bucket: deps.env.bucket };
  if (deps.replicaS3 === undefined) throw new SourceBucketRefusedError(`no S3 client for the replica's region ${from.region}`);
  return { s3: deps.replicaS3, bucket: from.bucket, replicaRegion: from.region };
}
