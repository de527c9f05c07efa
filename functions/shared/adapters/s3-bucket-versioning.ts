import { GetBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';

/** The bucket's versioning `Status` (`Enabled`, `Suspended`, or undefined: never enabled). Needs s3:GetBucketVersioning. */
export async function readBucketVersioning(s3: S3Client, bucket: string): Promise<string | undefined> {
  const out = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  return out.Status;
}
