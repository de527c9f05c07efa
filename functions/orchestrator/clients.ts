import { ECSClient } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import type { OrchestratorEnv } from './env.js';

/**
 * Without these the SDK waits forever on a connection that went silent, and one stuck request would hold
 * every target of the invocation until Lambda kills it; a timed-out request is retried by the SDK.
 */
const REQUEST_HANDLER = { connectionTimeout: 10_000, socketTimeout: 120_000 } as const;

/** The orchestrator's SDK clients. Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables (the stand-ins in tests). */
export function createClients(env: OrchestratorEnv): { ecs: ECSClient; s3: S3Client } {
  return {
    ecs: new ECSClient({ requestHandler: REQUEST_HANDLER }),
    s3: new S3Client({ requestHandler: REQUEST_HANDLER, ...(env.s3ForcePathStyle ? { forcePathStyle: true } : {}) }),
  };
}
