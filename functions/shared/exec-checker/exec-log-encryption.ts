import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { errorMessage } from '../errors.js';
import { lines } from './result.js';
import type { Check, CheckResult } from './types.js';

const { green, red } = lines('exec-log-encryption');

/** When exec logging asks for encryption, the log group has a KMS key and the bucket has default encryption (else the agent refuses the session). */
export const execLogEncryption: Check = async (ctx) => {
  const log = ctx.cluster.configuration?.executeCommandConfiguration?.logConfiguration;
  const results: CheckResult[] = [];
  if (log?.cloudWatchEncryptionEnabled && log.cloudWatchLogGroupName) {
    const name = log.cloudWatchLogGroupName;
    const title = 'Exec log group encryption';
    const out = await ctx.clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
    const group = out.logGroups?.find((g) => g.logGroupName === name);
    if (group === undefined) {
      results.push(red(title, `log group ${name} does not exist`, `create log group ${name} with a KMS key, or turn off cloudWatchEncryptionEnabled`));
    } else if (!group.kmsKeyId) {
      results.push(red(title, `log group ${name} has no KMS key, but cloudWatchEncryptionEnabled is true`, `associate a KMS key with ${name} (aws logs associate-kms-key), or turn off cloudWatchEncryptionEnabled`));
    } else {
      results.push(green(title, `${name} is encrypted with ${group.kmsKeyId}`));
    }
  }
  if (log?.s3EncryptionEnabled && log.s3BucketName) {
    const bucket = log.s3BucketName;
    const title = 'Exec log bucket encryption';
    try {
      const out = await ctx.clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      const rule = out.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
      results.push(
        rule?.SSEAlgorithm
          ? green(title, `${bucket}: ${rule.SSEAlgorithm}`)
          : red(title, `bucket ${bucket} has no default encryption, but s3EncryptionEnabled is true`, `enable default encryption on ${bucket}, or turn off s3EncryptionEnabled`),
      );
    } catch (error) {
      results.push(red(title, `cannot read the encryption of bucket ${bucket}: ${errorMessage(error)}`, `enable default encryption on ${bucket} (and allow s3:GetEncryptionConfiguration), or turn off s3EncryptionEnabled`));
    }
  }
  return results;
};
