import { readBucketVersioning } from '../adapters/s3-bucket-versioning.js';
import { versioningProblem } from '../core/bucket-versioning.js';
import { errorMessage } from '../errors.js';
import { lines } from './result.js';
import type { Check } from './types.js';

const { green, red } = lines('bucket-versioning');

/** Backup path: an existing bucket (whose settings the stack leaves alone) is versioned, so older weeks are kept. */
export const bucketVersioning: Check = async (ctx) => {
  const bucket = ctx.backup?.config.bucket;
  if (bucket?.existing !== true) return [];
  const title = `Bucket versioning (${bucket.name})`;
  let status: string | undefined;
  try {
    status = await readBucketVersioning(ctx.clients.s3, bucket.name);
  } catch (error) {
    return [red(title, `cannot read the versioning of bucket ${bucket.name}: ${errorMessage(error)}`, `allow s3:GetBucketVersioning on arn:aws:s3:::${bucket.name} for the caller and run it again`)];
  }
  const found = versioningProblem(bucket.name, status);
  return [found === null ? green(title, `${bucket.name}: versioning enabled`) : red(title, found.problem, found.fix)];
};
