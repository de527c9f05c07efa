import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { startLambdaApi, type LambdaApi } from '../../scripts/standin/lambda-api.js';
import type { LambdaRun } from './lambda-runner.js';
import { CLUSTER, KEY_PREFIX, startHarness, targetBackupDir, type Harness, type S3Server } from './orchestrator-harness.js';
import type { MotoS3 } from './moto.js';

/**
 * The orchestrator harness plus what restores need: the Lambda Invoke stand-in running the bundle,
 * a config file for the restore CLI, and helpers that run a backup or a restore/drill to its end.
 * S3 is moto's (real versioning), or another with `startS3`, behind the harness's faulty proxy.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The orchestrator's function name in the Lambda stand-in. */
export const FUNCTION_NAME = 'ecs-db-backup-orchestrator';

/** A running restore world. */
export interface RestoreHarness<S extends S3Server = MotoS3> {
  h: Harness<S>;
  lambda: LambdaApi;
  /** Invokes the bundle with S3 going through the faulty proxy (`remainingMs`: the Lambda's time budget). */
  run(event: unknown, env?: Record<string, string>, remainingMs?: number): Promise<LambdaRun>;
  /** The bytes of one version of an object. */
  getObjectVersion(key: string, versionId: string): Promise<Buffer>;
  /** Backs a target up now and waits for the upload; returns the object's key and version id. */
  backup(target: string): Promise<{ key: string; versionId: string }>;
  /** Sends a restore/drill request, then polls it with its run id until it ends; returns the final result (the invocations go to `runs`). */
  untilDone(event: Record<string, unknown>, runs?: LambdaRun[]): Promise<JobResultLike>;
  /** Writes a config file for the CLI holding `targets` (and `extra` top-level settings); returns its path. */
  writeConfig(targets: Record<string, unknown>[], extra?: Record<string, unknown>): string;
  /** Runs the restore CLI as a child process against the stand-ins. */
  cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Runs the restore CLI under a terminal (pty), typing `answer` when it asks for a confirmation. */
  cliOnTerminal(args: string[], answer: string): Promise<{ code: number; output: string }>;
  stop(): Promise<void>;
}

/** The fields of a restore/drill answer the tests read. */
export interface JobResultLike {
  outcome: string;
  runId?: string;
  reason?: string;
  note?: string;
  phase?: string;
  database?: string;
  problems?: string[];
  source?: { key: string; versionId: string | null };
}

/**
 * Starts the world; the fast path waits up to 30 s so small dumps and restores finish in one invocation; `startS3`
 * defaults to moto; `env` adds to every invocation's Lambda environment.
 */
export async function startRestoreHarness<S extends S3Server = MotoS3>(opts: { startS3?: () => Promise<S>; env?: Record<string, string> } = {}): Promise<RestoreHarness<S>> {
  const h = await startHarness<S>({ fastPathSeconds: 30, ...(opts.startS3 ? { startS3: opts.startS3 } : {}) });
  const run = (event: unknown, env: Record<string, string> = {}, remainingMs?: number) =>
    h.run(event, { env: { ...opts.env, ...env }, ...(remainingMs !== undefined ? { remainingMs } : {}) });
  const lambda = await startLambdaApi({
    functions: [FUNCTION_NAME],
    invoke: async (_name, event) => {
      const r = await run(event);
      return r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error ?? { name: 'Error', message: r.stderr.slice(-500) } };
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'restore-cli-'));
  let configPath = '';
  const cliEnv = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    AWS_ENDPOINT_URL_S3: h.proxy.endpoint,
    S3_FORCE_PATH_STYLE: '1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    NODE_NO_WARNINGS: '1',
  });
  return {
    h,
    lambda,
    run,
    async getObjectVersion(key, versionId) {
      const res = await h.s3.client.send(new GetObjectCommand({ Bucket: h.s3.bucket, Key: key, VersionId: versionId }));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
    async backup(target) {
      const r = await run({ action: 'backup', target });
      expect(r.error, r.stderr).toBeNull();
      let outcome = (r.result as { results: { outcome: string; key?: string; reason?: string }[] }).results[0]!;
      for (let i = 0; i < 60 && !['succeeded', 'failed'].includes(outcome.outcome); i++) {
        await new Promise((res) => setTimeout(res, 500));
        // The same manual request carries the run on (it holds the lock, so no second dump starts).
        const next = await run({ action: 'backup', target });
        outcome = (next.result as { results: { outcome: string; key?: string }[] }).results[0]!;
      }
      expect(outcome.outcome, JSON.stringify(outcome)).toBe('succeeded');
      const key = outcome.key!;
      const head = await h.s3.client.send(new HeadObjectCommand({ Bucket: h.s3.bucket, Key: key }));
      expect(head.VersionId, `no version id on ${key}`).toBeDefined();
      return { key, versionId: head.VersionId! };
    },
    async untilDone(event, runs = []) {
      let r = await run(event);
      runs.push(r);
      expect(r.error, `${JSON.stringify(r.error)}\n${r.stderr}`).toBeNull();
      let result = (r.result as { result: JobResultLike }).result;
      for (let i = 0; i < 120 && (result.outcome === 'started' || result.outcome === 'waiting'); i++) {
        await new Promise((res) => setTimeout(res, 500));
        r = await run({ ...event, runId: result.runId });
        runs.push(r);
        expect(r.error, r.stderr).toBeNull();
        result = (r.result as { result: JobResultLike }).result;
      }
      return result;
    },
    writeConfig(targets, extra = {}) {
      configPath = join(dir, 'backup.config.json');
      writeFileSync(
        configPath,
        JSON.stringify({
          ...extra,
          region: h.standin.region,
          bucket: { name: h.s3.bucket, existing: true },
          keyPrefix: KEY_PREFIX,
          vpcId: 'vpc-0a1b2c3d4e5f60718',
          subnetIds: ['subnet-0a1b2c3d4e5f60711'],
          efs: { fileSystemId: 'fs-0a1b2c3d4e5f60733', mountTargetSecurityGroupId: 'sg-0a1b2c3d4e5f60744' },
          targets: targets.map((t) => ({ cluster: CLUSTER, backupDir: targetBackupDir(String(t.name)), ...t })),
        }),
      );
      return configPath;
    },
    async cliOnTerminal(args, answer) {
      const pty = createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
      const term = pty.spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/restore.ts'), '--config', configPath, '--poll-seconds', '0.5', ...args], {
        cwd: ROOT,
        env: cliEnv(),
        cols: 200,
        rows: 40,
      });
      let output = '';
      let answered = false;
      return new Promise((resolvePromise) => {
        term.onData((data) => {
          output += data;
          if (!answered && output.includes('to confirm: ')) {
            answered = true;
            term.write(`${answer}\r`);
          }
        });
        term.onExit(({ exitCode }) => resolvePromise({ code: exitCode, output: output.replace(/\r/g, '') }));
      });
    },
    cli(args, input) {
      return new Promise((resolvePromise) => {
        const child = execFile(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'scripts/restore.ts'), '--config', configPath, '--poll-seconds', '0.5', ...args],
          {
            cwd: ROOT,
            env: cliEnv(),
            maxBuffer: 16 * 1024 * 1024,
          },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
            resolvePromise({ code, stdout, stderr });
          },
        );
        child.stdin?.end(input ?? '');
      });
    },
    async stop() {
      await lambda.stop();
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
