import { ECSClient } from '@aws-sdk/client-ecs';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SDK_REQUEST_HANDLER } from '../shared/adapters/sdk-request-handler.js';
import type { OrchestratorEnv } from './env.js';

/**
 * Attempts per ECS call: a fleet's hourly burst of ListTasks/DescribeTasks/ExecuteCommand meets ECS's request
 * rate limits, and a ThrottlingException is then retried with exponential backoff and jitter; adaptive mode
 * also slows this client's sending after throttles, so every target's calls get through instead of some failing.
 */
export const ECS_MAX_ATTEMPTS = 8;

/** The orchestrator's SDK clients. Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables (the stand-ins in tests). */
export function createClients(env: OrchestratorEnv): { ecs: ECSClient; s3: S3Client; kms: KMSClient; ssm: SSMClient; secrets: SecretsManagerClient; replicaS3?: S3Client } {
  const s3Options = { requestHandler: SDK_REQUEST_HANDLER, ...(env.s3ForcePathStyle ? { forcePathStyle: true } : {}) };
  return {
    ecs: new ECSClient({ requestHandler: SDK_REQUEST_HANDLER, maxAttempts: ECS_MAX_ATTEMPTS, retryMode: 'adaptive' }),
    // KMS for the data keys of KMS-encrypted exec sessions, SSM to terminate sessions still open.
    kms: new KMSClient({ requestHandler: SDK_REQUEST_HANDLER }),
    ssm: new SSMClient({ requestHandler: SDK_REQUEST_HANDLER }),
    // Secrets Manager for the host and user of mode "task" targets (their password reaches only the runner task).
    secrets: new SecretsManagerClient({ requestHandler: SDK_REQUEST_HANDLER }),
    s3: new S3Client(s3Options),
    // Restores from the replica sign for its region (S3 refuses a request signed for another).
    ...(env.replica === undefined ? {} : { replicaS3: new S3Client({ ...s3Options, region: env.replica.region }) }),
  };
}
