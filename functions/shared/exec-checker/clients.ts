import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { Clients } from './types.js';

/** Environment variable overriding the ECS endpoint (the SDK also reads AWS_ENDPOINT_URL_ECS itself). */
export const ECS_ENDPOINT_ENV = 'ECS_ENDPOINT';

/** Creates the SDK clients for `region`; ECS goes to $ECS_ENDPOINT when set (the local stand-in). */
export function createClients(region: string | undefined, env: NodeJS.ProcessEnv = process.env): Clients {
  const base = region === undefined ? {} : { region };
  const ecsEndpoint = env[ECS_ENDPOINT_ENV];
  return {
    ecs: new ECSClient(ecsEndpoint ? { ...base, endpoint: ecsEndpoint } : base),
    iam: new IAMClient(base),
    sts: new STSClient(base),
    ec2: new EC2Client(base),
    kms: new KMSClient(base),
    logs: new CloudWatchLogsClient(base),
    s3: new S3Client(base),
    lambda: new LambdaClient(base),
    efs: new EFSClient(base),
  };
}
