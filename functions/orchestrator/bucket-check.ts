import { readBucketVersioning } from '../shared/adapters/s3-bucket-versioning.js';
import { versioningProblem, type VersioningProblem } from '../shared/core/bucket-versioning.js';
import { errorMessage } from '../shared/errors.js';
import type { Deps } from './deps.js';

/**
 * Reads an existing bucket's versioning (once per cold start: the handler keeps the answer) and says
 * what is wrong with it, or null when it is enabled. A read that fails counts as a problem too: then
 * nobody knows whether older weeks are kept, and the fix (the role's s3:GetBucketVersioning) is named.
 */
export async function findVersioningProblem(deps: Pick<Deps, 's3' | 'env'>): Promise<VersioningProblem | null> {
  const { bucket } = deps.env;
  try {
    return versioningProblem(bucket, await readBucketVersioning(deps.s3, bucket));
  } catch (error) {
    return {
      problem: `cannot read the versioning of bucket ${bucket}: ${errorMessage(error)}`,
      fix: "the orchestrator's role needs s3:GetBucketVersioning on it: redeploy the stack",
    };
  }
}

/**
 * Says so, as an error log line and a BucketVersioningDisabled metric for every target, on every
 * invocation while the problem stands, so the metric does not go quiet while the container stays warm.
 */
export function reportVersioningProblem(deps: Pick<Deps, 'env' | 'telemetry'>, found: VersioningProblem | null): void {
  if (found === null) return;
  deps.telemetry.logger.error(`backup retention at risk: ${found.problem}; ${found.fix}`, { bucket: deps.env.bucket });
  for (const target of deps.env.targets) deps.telemetry.emit(target.name, { BucketVersioningDisabled: 1 });
}
