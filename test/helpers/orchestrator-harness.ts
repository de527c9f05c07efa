import type { KMSClient } from '@aws-sdk/client-kms';
import { RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { serializeTargets, TARGETS_FILE_NAME } from '../../functions/shared/config/load.js';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { WEEKDAYS } from '../../functions/shared/core/s3-keys.js';
import { runnerContainerDefinition, runnerFamily, RUNNER_VOLUME } from '../../functions/shared/core/runner-task.js';
import { startStandin, type Standin, type StandinContainer, type StandinImage } from '../../scripts/standin/index.js';
import { ecsClientFor } from './standin.js';
import { startFaultyProxy, type FaultyProxy } from './faulty-proxy.js';
import { buildOrchestratorBundle, invokeBundle, localLambdaEnv, type LambdaRun, type RunningLambda } from './lambda-runner.js';
import { PG_BIN } from './postgres.js';
import { startMotoS3, type MotoS3 } from './moto.js';

/**
 * The orchestrator's world for integration tests: a temp directory standing for EFS (bind-mounted at
 * /backup in every stand-in "container" and used as the Lambda's EFS_MOUNT_PATH), moto's S3 (a versioned
 * bucket) behind a faulty proxy, the ECS/agent stand-in, and the built bundle invoked in a child process.
 */

/** Where the backup EFS is mounted in the stand-in containers. */
export const CONTAINER_BACKUP_DIR = '/backup';
/**
 * A target's backupDir in the stand-in containers: `/backup/<target>`. The harness's containers see the whole EFS at
 * /backup (one mount for every target a container serves), so this is the directory its own access point would show.
 */
export function targetBackupDir(target: string): string {
  return `${CONTAINER_BACKUP_DIR}/${target}`;
}
/** Cluster of every stand-in task. */
export const CLUSTER = 'db';
/** Key prefix of the tests' bucket. */
export const KEY_PREFIX = 'backups/';
/** The EFS access point the runner tasks' definitions mount (the stand-in maps it to the harness's EFS directory). */
/** The stand-in id of a target's own access point, which its runner task mounts (its directory <efsDir>/<target>). */
export function runnerAccessPoint(target: string): string {
  return `fsap-${createHash('sha256').update(target).digest('hex').slice(0, 17)}`;
}
/** The EFS file system of that access point. */
export const RUNNER_FILE_SYSTEM = 'fs-0123456789abcdef0';
/** The EventBridge event of the hourly schedule. */
export const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-22T05:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/ecs-db-backup-hourly'],
  detail: {},
} as const;

/** What the harness needs of an S3 server: moto's (test/helpers/moto.ts, the default) or another. */
export type S3Server = Pick<MotoS3, 'endpoint' | 'bucket' | 'client' | 'stop'>;

/** A running harness. */
export interface Harness<S extends S3Server = MotoS3> {
  efsDir: string;
  s3: S;
  proxy: FaultyProxy;
  standin: Standin;
  /** Adds a stand-in task `<service>-task` for service `service` with one container named `service`. */
  addService(service: string, container: Omit<StandinContainer, 'name' | 'mounts'>): string;
  /** Makes a directory with a fake `pg_dump` (see fakePgDumpDir), removed with the harness. */
  fakePgDump(behaviour: string): string;
  /** Sets the targets the Lambda gets (validated with the real schema), with staleness limits as the stack packages them for `alarms.staleness: "fleet"`. */
  setTargets(targets: Record<string, unknown>[], ageLimitHours?: Record<string, number>): Target[];
  /** Starts an invocation; `env` adds to or overrides the Lambda environment. */
  invoke(event: unknown, opts?: { remainingMs?: number; env?: Record<string, string> }): RunningLambda;
  /** Invokes and waits. */
  run(event: unknown, opts?: { remainingMs?: number; env?: Record<string, string> }): Promise<LambdaRun>;
  /** An object's bytes, or null. */
  getObject(key: string): Promise<Buffer | null>;
  /** Registers a mode "task" target's runner task definition with the stand-in, as the stack defines it. */
  registerRunner(target: Target): Promise<void>;
  /** Puts `<weekday>.<ext>` and a manifest for every weekday of a target, as an earlier week's good backups. */
  seedWeek(target: string, ext: string): Promise<Map<string, Buffer>>;
  stop(): Promise<void>;
}

/** A cluster whose ECS Exec sessions are KMS-encrypted: its key, the KMS endpoint the Lambda calls, and the agent's KMS client. */
export interface HarnessKms {
  keyArn: string;
  endpoint: string;
  agent: KMSClient;
}

/**
 * Run tasks (mode "task" targets): the Secrets Manager their secrets are in (moto), what each image stands for, and
 * how long a stopped task's container gets between SIGTERM and SIGKILL.
 */
export interface HarnessRunTasks {
  secretsEndpoint: string;
  images: Record<string, StandinImage>;
  stopTimeoutMs?: number;
}

/** Starts the harness; `fastPathSeconds` defaults to 0 (the first invocation only starts the dump); `startS3` defaults to moto. */
export async function startHarness<S extends S3Server = MotoS3>(
  opts: { fastPathSeconds?: number; partSizeMb?: number; kms?: HarnessKms; startS3?: () => Promise<S>; runTasks?: HarnessRunTasks } = {},
): Promise<Harness<S>> {
  const efsDir = mkdtempSync(join(tmpdir(), 'efs-'));
  chmodSync(efsDir, 0o777);
  const scratchDir = mkdtempSync(join(tmpdir(), 'orchestrator-scratch-'));
  const secrets = opts.runTasks
    ? new SecretsManagerClient({ endpoint: opts.runTasks.secretsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } })
    : undefined;
  // Each runner task mounts its target's own access point: the target's directory (filled in by registerRunner).
  const runnerAccessPoints: Record<string, string> = {};
  const runTaskOptions = opts.runTasks
    ? { images: opts.runTasks.images, efs: runnerAccessPoints, secrets, stopTimeoutMs: opts.runTasks.stopTimeoutMs ?? 2_000 }
    : {};
  const [bundle, s3, standin] = await Promise.all([
    buildOrchestratorBundle(),
    (opts.startS3 ?? (startMotoS3 as unknown as () => Promise<S>))(),
    startStandin({ clusters: [{ name: CLUSTER, tasks: [], ...(opts.kms ? { kmsKeyId: opts.kms.keyArn } : {}) }] }, { ...(opts.kms ? { kms: opts.kms.agent } : {}), ...runTaskOptions }),
  ]);
  const proxy = await startFaultyProxy(s3.endpoint);
  // Next to the bundle, as the stack packages it.
  const targetsFile = join(dirname(bundle), TARGETS_FILE_NAME);
  const baseEnv = (): Record<string, string> => ({
    ...localLambdaEnv({
      targetsFile,
      bucket: s3.bucket,
      keyPrefix: KEY_PREFIX,
      efsDir,
      fastPathSeconds: opts.fastPathSeconds ?? 0,
      region: standin.region,
      ecsEndpoint: standin.endpoint,
      s3Endpoint: proxy.endpoint,
      ...(opts.kms ? { kmsEndpoint: opts.kms.endpoint } : {}),
    }),
    ...(opts.partSizeMb ? { UPLOAD_PART_SIZE_MB: String(opts.partSizeMb) } : {}),
    ...(opts.runTasks ? { AWS_ENDPOINT_URL_SECRETS_MANAGER: opts.runTasks.secretsEndpoint } : {}),
  });
  const invoke: Harness['invoke'] = (event, o = {}) => invokeBundle(bundle, event, { ...baseEnv(), ...o.env }, o.remainingMs);
  return {
    efsDir,
    s3,
    proxy,
    standin,
    addService(service, container) {
      const id = `${service.replace(/[^a-z0-9]/g, '')}${'0'.repeat(32)}`.slice(0, 32);
      standin.setTask(CLUSTER, {
        id,
        service,
        containers: [{ ...container, name: service, mounts: { [CONTAINER_BACKUP_DIR]: efsDir } }],
      });
      return id;
    },
    fakePgDump: (behaviour) => fakePgDumpDir(behaviour, scratchDir),
    setTargets(targets, ageLimitHours) {
      // Runner tasks mount the backup EFS at their own fixed path.
      const parsed = targets.map((t) => targetSchema.parse({ cluster: CLUSTER, ...(t.mode === 'task' ? {} : { backupDir: targetBackupDir(String(t.name)) }), ...t }));
      writeFileSync(targetsFile, serializeTargets(parsed, ageLimitHours));
      return parsed;
    },
    invoke,
    run: (event, o) => invoke(event, o).done,
    async getObject(key) {
      try {
        const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
        return Buffer.from(await res.Body!.transformToByteArray());
      } catch {
        return null;
      }
    },
    async registerRunner(target) {
      if (target.secretArn === undefined) throw new Error(`target ${target.name} has no secretArn`);
      const targetDir = join(efsDir, target.name);
      mkdirSync(targetDir, { recursive: true, mode: 0o777 });
      runnerAccessPoints[runnerAccessPoint(target.name)] = targetDir;
      const ecs = ecsClientFor(standin);
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: runnerFamily('ecs-db-backup', target),
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: String(target.task?.cpu ?? 512),
          memory: String(target.task?.memoryMb ?? 1024),
          containerDefinitions: [runnerContainerDefinition({ ...target, secretArn: target.secretArn }, { region: standin.region }) as never],
          volumes: [{ name: RUNNER_VOLUME, efsVolumeConfiguration: { fileSystemId: RUNNER_FILE_SYSTEM, transitEncryption: 'ENABLED', authorizationConfig: { accessPointId: runnerAccessPoint(target.name), iam: 'ENABLED' } } }],
        }),
      );
      ecs.destroy();
    },
    async seedWeek(target, ext) {
      const seeded = new Map<string, Buffer>();
      for (const weekday of WEEKDAYS) {
        const body = Buffer.from(`earlier good backup of ${target} on ${weekday}\n`);
        const key = `${KEY_PREFIX}${target}/${weekday}.${ext}`;
        // A month old: the target is due now.
        const manifest = seedManifest(target, weekday, key, body);
        await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
        await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${KEY_PREFIX}${target}/${weekday}.json`, Body: manifest }));
        seeded.set(key, body);
        seeded.set(`${KEY_PREFIX}${target}/${weekday}.json`, Buffer.from(manifest));
      }
      return seeded;
    },
    async stop() {
      await proxy.stop();
      await Promise.all([s3.stop(), standin.stop()]);
      secrets?.destroy();
      rmSync(efsDir, { recursive: true, force: true });
      rmSync(dirname(bundle), { recursive: true, force: true });
      rmSync(scratchDir, { recursive: true, force: true });
    },
  };
}

function seedManifest(target: string, weekday: string, key: string, body: Buffer): string {
  const old = '2026-01-01T00:00:00.000Z';
  return JSON.stringify({
    version: 1, target, engine: 'postgres', key, weekday, size: body.length,
    sha256: '0'.repeat(64), toolVersion: 'seed', runId: '20260101T000000Z-seed00', sourceTask: 'seed',
    startedAt: old, dumpEndedAt: old, uploadedAt: old, checks: [], counts: null, objectVersionId: null,
  });
}

/** Environment of a stand-in container running the database tools (PostgreSQL 15 binaries first on PATH). */
export function containerEnv(extra: Record<string, string> = {}, pathPrefix?: string): Record<string, string> {
  const path = `${pathPrefix ? `${pathPrefix}:` : ''}${PG_BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;
  return { PATH: path, ...extra };
}

/** A directory under `parent` with a `pg_dump` that runs `behaviour` (sh) before/instead of the real one; `--version` always answers. */
export function fakePgDumpDir(behaviour: string, parent: string = tmpdir()): string {
  const dir = mkdtempSync(join(parent, 'fake-pgdump-'));
  writeFileSync(
    join(dir, 'pg_dump'),
    `#!/bin/sh\ncase "$1" in --version|-V) exec ${PG_BIN}/pg_dump "$@";; esac\n${behaviour}\n`,
    { mode: 0o755 },
  );
  chmodSync(dir, 0o755);
  return dir;
}

/** Reads the target's run.json on the "EFS", or null. */
export async function readRunJson(efsDir: string, target: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(join(efsDir, target, 'run.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Rewrites the target's run.json with `change` applied (tests play the passing of time this way). */
export async function editRunJson(efsDir: string, target: string, change: (r: Record<string, unknown>) => void): Promise<void> {
  const record = (await readRunJson(efsDir, target))!;
  change(record);
  await writeFile(join(efsDir, target, 'run.json'), JSON.stringify(record));
}

/** Waits until `check` is truthy (polling every 100 ms), failing after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
