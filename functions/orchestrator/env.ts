import { resolve } from 'node:path';
import { DEFAULT_DEPLOYMENT_NAME } from '../shared/config/deployment-names.js';
import { readPackagedTargets, TARGETS_FILE_ENV } from '../shared/config/load.js';
import type { Target } from '../shared/config/schema.js';
import { ConfigError } from '../shared/errors.js';

/** The orchestrator's settings, read once from the Lambda environment. */
export interface OrchestratorEnv {
  /** The deployment's name (the stack sets it as the metrics' service): it prefixes the runner task families. */
  deploymentName: string;
  targets: readonly Target[];
  bucket: string;
  /** May be empty (objects at the bucket root). */
  keyPrefix: string;
  /** Where the backup EFS access point is mounted in the Lambda. */
  efsMountPath: string;
  /** How long an invocation waits for a dump it just started. */
  fastPathSeconds: number;
  kmsKeyArn: string | undefined;
  /** Multipart part size; undefined = the transfer module's default. Tests lower it to 5 MiB. */
  partSizeBytes: number | undefined;
  /** Path-style S3 addressing: only for local S3 stand-ins (moto, s3rver). */
  s3ForcePathStyle: boolean;
  /** Check the bucket's versioning once per cold start: set for an existing bucket, whose settings the stack does not own. */
  checkBucketVersioning: boolean;
  /** The replica bucket in the second region (`replication`), the only other bucket a restore may read; undefined without replication. */
  replica: { bucket: string; region: string } | undefined;
  /**
   * Each target's staleness limit (hours), packaged with the targets when `alarms.staleness` is "fleet": the
   * scheduled run then publishes the StaleTargets count its one alarm watches. Undefined: per-target alarms.
   */
  ageLimitHours: Readonly<Record<string, number>> | undefined;
}

function required(env: NodeJS.ProcessEnv, name: string, allowEmpty = false): string {
  const value = env[name];
  if (value === undefined || (!allowEmpty && value === '')) {
    throw new ConfigError(`environment variable ${name} is missing: redeploy the orchestrator with the stack, which sets it`);
  }
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`environment variable ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** REPLICA_BUCKET and REPLICA_REGION: both (replication configured) or neither. */
function replicaOf(env: NodeJS.ProcessEnv): OrchestratorEnv['replica'] {
  const bucket = env.REPLICA_BUCKET || undefined;
  const region = env.REPLICA_REGION || undefined;
  if (bucket === undefined && region === undefined) return undefined;
  if (bucket === undefined || region === undefined) {
    throw new ConfigError(`environment variable ${bucket === undefined ? 'REPLICA_BUCKET' : 'REPLICA_REGION'} is missing while the other is set: redeploy the orchestrator with the stack, which sets both`);
  }
  return { bucket, region };
}

/** Reads and validates the orchestrator's environment; the error names the variable that is missing or bad. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): OrchestratorEnv {
  const partSizeMb = integer(env, 'UPLOAD_PART_SIZE_MB', 0, 5, 5120);
  // Relative to the code directory: the stack packages the file next to the handler.
  const packaged = readPackagedTargets(resolve(env.LAMBDA_TASK_ROOT ?? '.', required(env, TARGETS_FILE_ENV)));
  return {
    // The stack sets the metrics' service to the deployment name; a function set up by hand without it has the default.
    deploymentName: env.POWERTOOLS_SERVICE_NAME || DEFAULT_DEPLOYMENT_NAME,
    targets: packaged.targets,
    ageLimitHours: packaged.ageLimitHours,
    bucket: required(env, 'BUCKET'),
    keyPrefix: required(env, 'KEY_PREFIX', true),
    efsMountPath: required(env, 'EFS_MOUNT_PATH'),
    fastPathSeconds: integer(env, 'FAST_PATH_SECONDS', 120, 0, 600),
    kmsKeyArn: env.KMS_KEY_ARN || undefined,
    partSizeBytes: partSizeMb === 0 ? undefined : partSizeMb * 1024 * 1024,
    s3ForcePathStyle: env.S3_FORCE_PATH_STYLE === '1',
    checkBucketVersioning: env.CHECK_BUCKET_VERSIONING === '1',
    replica: replicaOf(env),
  };
}
