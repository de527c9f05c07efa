/** What is wrong with a bucket's versioning and how to fix it. */
export interface VersioningProblem {
  readonly problem: string;
  readonly fix: string;
}

/**
 * What is wrong with an existing bucket's versioning, or null when it is enabled. The weekday keys are
 * overwritten every week: only versioning keeps the older weeks (until `retentionDays`).
 *
 * @param bucket the bucket name, for the message.
 * @param status GetBucketVersioning's `Status`: `Enabled`, `Suspended`, or undefined (never enabled).
 */
export function versioningProblem(bucket: string, status: string | undefined): VersioningProblem | null {
  if (status === 'Enabled') return null;
  const state = status === undefined ? 'has never had versioning enabled' : `has versioning ${status.toLowerCase()}`;
  return {
    problem: `bucket ${bucket} ${state}: each weekday key keeps only its latest backup, older weeks are lost`,
    fix: `enable versioning: aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`,
  };
}
