import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeTargets, TARGETS_FILE_NAME } from '../../functions/shared/config/load.js';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { BackupError } from '../../functions/shared/errors.js';
import { buildOrchestratorBundle, invokeBundle, localLambdaEnv, type LambdaRun } from '../../test/helpers/lambda-runner.js';
import { containerEnv } from '../../test/helpers/orchestrator-harness.js';
import { startMotoS3, type MotoS3 } from '../../test/helpers/moto.js';
import { startLambdaApi, type LambdaApi } from '../standin/lambda-api.js';
import { startStandin, type Standin } from '../standin/index.js';
import { DEMO_MARK_ENV } from './lifecycle.js';
import type { PlannedTask } from './local-config.js';

/**
 * The demo's stand-in AWS: a temp directory as the backup EFS, moto's S3 (versioned) as the bucket, the ECS/agent
 * stand-in with the clusters the targets name, the orchestrator's built bundle invoked in a child
 * `node` per event, and a Lambda Invoke stand-in so that the restore CLI reaches that bundle.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The orchestrator's function name in the Lambda stand-in. */
export const FUNCTION_NAME = 'ecs-db-backup-orchestrator';

/** The world was used after it was stopped. */
export class WorldStoppedError extends BackupError {}

/** Settings of the stand-in world. */
export interface WorldOptions {
  clusters: readonly string[];
  region: string;
  bucket: string;
  keyPrefix: string;
  /** How long an invocation waits for a job it started (FAST_PATH_SECONDS). */
  fastPathSeconds: number;
  /** Value of DEMO_MARK_ENV in every stand-in container (the demo's temp root). */
  mark: string;
}

/** A running stand-in world. */
export interface DemoWorld {
  efsDir: string;
  s3: MotoS3;
  standin: Standin;
  lambda: LambdaApi;
  keyPrefix: string;
  /** Throws WorldStoppedError once stop() was called (Ctrl-C): the flows call it before each step. */
  check(): void;
  /** Adds a stand-in task for a service: each container gets the database tools on PATH, its secrets, and the EFS at its backup dirs. */
  addTask(task: PlannedTask, shell?: 'dash' | 'busybox'): void;
  /** Sets the targets the Lambda (and the restore CLI's config) gets, validated with the real schema. */
  setTargets(targets: readonly Record<string, unknown>[]): Target[];
  /** Invokes the bundle with one event and waits for it. */
  run(event: unknown): Promise<LambdaRun>;
  /** Runs `npm run restore -- ARGS` against the stand-ins (its --config is written by setTargets). */
  restoreCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Starts the world: bundle build, moto's S3, the ECS and Lambda stand-ins. */
export async function startWorld(o: WorldOptions): Promise<DemoWorld> {
  const efsDir = mkdtempSync(join(tmpdir(), 'efs-'));
  chmodSync(efsDir, 0o777);
  const cliDir = mkdtempSync(join(tmpdir(), 'restore-cli-'));
  const configPath = join(cliDir, 'backup.config.json');
  const children = new Set<ChildProcess>();
  let stopped = false;
  const refuseWhenStopped = () => {
    if (stopped) throw new WorldStoppedError('the stand-ins are stopped (the demo is stopping)');
  };
  const [bundle, s3, standin] = await Promise.all([
    buildOrchestratorBundle(),
    startMotoS3({ bucket: o.bucket }),
    startStandin({ region: o.region, clusters: o.clusters.map((name) => ({ name, tasks: [] })) }),
  ]);
  // Next to the bundle, as the stack packages it.
  const targetsFile = join(dirname(bundle), TARGETS_FILE_NAME);
  const lambdaEnv = (): Record<string, string> =>
    localLambdaEnv({
      targetsFile,
      bucket: s3.bucket,
      keyPrefix: o.keyPrefix,
      efsDir,
      fastPathSeconds: o.fastPathSeconds,
      region: standin.region,
      ecsEndpoint: standin.endpoint,
      s3Endpoint: s3.endpoint,
    });
  const run = async (event: unknown): Promise<LambdaRun> => {
    refuseWhenStopped();
    const invocation = invokeBundle(bundle, event, lambdaEnv());
    children.add(invocation.child);
    return invocation.done.finally(() => children.delete(invocation.child));
  };
  const lambda = await startLambdaApi({
    functions: [FUNCTION_NAME],
    invoke: async (_name, event) => {
      const r = await run(event);
      return r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error ?? { name: 'Error', message: r.stderr.slice(-500) } };
    },
  });
  return {
    efsDir,
    s3,
    standin,
    lambda,
    keyPrefix: o.keyPrefix,
    check: refuseWhenStopped,
    addTask(task, shell = 'dash') {
      const id = `${task.service.toLowerCase().replace(/[^a-z0-9]/g, '')}${'0'.repeat(32)}`.slice(0, 32);
      standin.setTask(task.cluster, {
        id,
        service: task.service,
        containers: task.containers.map((c) => ({
          name: c.name,
          env: containerEnv({ ...c.env, [DEMO_MARK_ENV]: o.mark }),
          // Each target's directory at its backupDir, as its own access point would be mounted.
          mounts: Object.fromEntries(Object.entries(c.backupDirs).map(([dir, target]) => [dir, targetDir(efsDir, target)])),
          shell,
        })),
      });
    },
    setTargets(targets) {
      const parsed = targets.map((t) => targetSchema.parse(t));
      writeFileSync(targetsFile, serializeTargets(parsed));
      writeFileSync(
        configPath,
        JSON.stringify({
          region: standin.region,
          bucket: { name: s3.bucket, existing: true },
          keyPrefix: o.keyPrefix,
          vpcId: 'vpc-0a1b2c3d4e5f60718',
          subnetIds: ['subnet-0a1b2c3d4e5f60711'],
          efs: { fileSystemId: 'fs-0a1b2c3d4e5f60733', mountTargetSecurityGroupId: 'sg-0a1b2c3d4e5f60744' },
          targets,
        }),
      );
      return parsed;
    },
    run,
    async restoreCli(args) {
      refuseWhenStopped();
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        S3_FORCE_PATH_STYLE: '1',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        NODE_NO_WARNINGS: '1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      return new Promise((resolvePromise) => {
        const child = execFile(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'scripts/restore.ts'), '--config', configPath, '--poll-seconds', '0.5', ...args],
          { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) => {
            children.delete(child);
            resolvePromise({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
          },
        );
        children.add(child);
        child.stdin?.end();
      });
    },
    async stop() {
      stopped = true;
      for (const child of children) child.kill('SIGKILL');
      await lambda.stop();
      await Promise.all([s3.stop(), standin.stop()]);
      rmSync(efsDir, { recursive: true, force: true });
      rmSync(dirname(bundle), { recursive: true, force: true });
      rmSync(cliDir, { recursive: true, force: true });
    },
  };
}

/** `<efsDir>/<target>`, made when missing: what the target's access point exposes (and the stand-in bind-mounts). */
function targetDir(efsDir: string, target: string): string {
  const dir = join(efsDir, target);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}
