import type { ECSClient } from '@aws-sdk/client-ecs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EfsState } from '../shared/adapters/efs-state.js';
import type { Telemetry } from '../shared/adapters/telemetry.js';
import type { EcsExec } from '../shared/exec/exec-client.js';
import type { TaskSource } from '../shared/exec/service-tasks.js';
import type { OrchestratorEnv } from './env.js';
import type { Semaphore } from './semaphore.js';

/** Everything a workflow step needs for one invocation. */
export interface Deps {
  env: OrchestratorEnv;
  ecs: ECSClient;
  s3: S3Client;
  /** S3 in the replica's region, when replication is configured (restores from the replica). */
  replicaS3?: S3Client;
  /** Reads the database secrets of mode "task" targets. */
  secrets: SecretsManagerClient;
  exec: EcsExec;
  state: EfsState;
  telemetry: Telemetry;
  /** Where tasks are picked from: the scheduled run's per-service cache; default: ECS, asked each time. */
  tasks?: TaskSource;
  /** Caps uploads running at once across all targets of the invocation. */
  uploadSlots: Semaphore;
  /** Epoch ms after which no new work starts (the Lambda's remaining time minus a safety margin). */
  deadline: number;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

/** What happened to one target in this invocation. */
export interface TargetOutcome {
  target: string;
  /** `deferred`: not looked at, the invocation's time budget ran out first (the next hour does). */
  outcome: 'idle' | 'busy' | 'started' | 'waiting' | 'uploading' | 'succeeded' | 'failed' | 'deferred';
  runId?: string;
  reason?: string;
  key?: string;
}
