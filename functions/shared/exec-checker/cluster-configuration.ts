import { lines } from './result.js';
import type { Check } from './types.js';

const { green, yellow } = lines('cluster-configuration');

/** Check 1: the cluster's ECS Exec configuration (KMS key, audit logging); advisory only. */
export const clusterConfiguration: Check = async (ctx) => {
  const exec = ctx.cluster.configuration?.executeCommandConfiguration;
  const keyId = exec?.kmsKeyId;
  const kms =
    keyId === undefined
      ? green('Exec KMS key', 'not configured (sessions are protected by TLS only)')
      : keyId === ctx.execKmsKeyArn && !keyId.startsWith('arn:')
        ? yellow('Exec KMS key', `${keyId} (could not be resolved to an ARN with kms:DescribeKey)`, 'allow kms:DescribeKey for the caller, or check that the key exists')
        : green('Exec KMS key', ctx.execKmsKeyArn ?? keyId);
  if (exec === undefined) {
    return [kms, yellow('Exec audit logging', 'not configured', 'set executeCommandConfiguration.logging on the cluster (DEFAULT or OVERRIDE) to record sessions')];
  }
  const logging = exec.logging ?? 'DEFAULT';
  if (logging === 'NONE') {
    return [kms, yellow('Exec audit logging', 'disabled (NONE)', 'set executeCommandConfiguration.logging to DEFAULT or OVERRIDE to record sessions')];
  }
  if (logging === 'DEFAULT') return [kms, green('Exec audit logging', "DEFAULT (the container's awslogs configuration)")];
  const log = exec.logConfiguration ?? {};
  const sinks: string[] = [];
  if (log.cloudWatchLogGroupName) {
    sinks.push(`CloudWatch Logs ${log.cloudWatchLogGroupName}${log.cloudWatchEncryptionEnabled ? ' (encrypted)' : ''}`);
  }
  if (log.s3BucketName) {
    sinks.push(`S3 s3://${log.s3BucketName}/${log.s3KeyPrefix ?? ''}${log.s3EncryptionEnabled ? ' (encrypted)' : ''}`);
  }
  return [
    kms,
    sinks.length === 0
      ? yellow('Exec audit logging', 'OVERRIDE without a log group or bucket', 'set logConfiguration.cloudWatchLogGroupName or s3BucketName')
      : green('Exec audit logging', `OVERRIDE → ${sinks.join(', ')}`),
  ];
};
