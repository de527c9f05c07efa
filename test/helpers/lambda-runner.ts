import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildOrchestratorBundle as buildDeployBundle } from '../../modules/orchestrator-bundle.js';

/**
 * Runs the orchestrator as its built bundle in a child `node`, the way Lambda would: import the
 * bundle, call handler(event, context) with getRemainingTimeInMillis, collect the result, the JSON
 * log lines and the EMF metric documents. The child can be SIGKILLed to play a Lambda timeout.
 */

/** Builds the deploy bundle (modules/orchestrator-bundle.ts, the same esbuild settings main.ts packages) into a temp dir. */
export async function buildOrchestratorBundle(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'orchestrator-bundle-'));
  const { file } = buildDeployBundle({ outDir: dir });
  writeRunner(dir);
  return file;
}

/** Puts the runner invokeBundle needs next to a bundle in `dir` (e.g. a deployed function's unzipped code). */
export function writeRunner(dir: string): void {
  writeFileSync(join(dir, 'runner.mjs'), RUNNER);
}

const RESULT_TAG = '@@LAMBDA_RESULT@@ ';
const RUNNER = `
import { pathToFileURL } from 'node:url';
const [bundle, eventJson, remaining] = process.argv.slice(2);
const started = Date.now();
const context = { functionName: 'orchestrator', awsRequestId: 'test-' + process.pid, getRemainingTimeInMillis: () => Number(remaining) - (Date.now() - started) };
let outcome;
try {
  const { handler } = await import(pathToFileURL(bundle).href);
  outcome = { ok: true, result: await handler(JSON.parse(eventJson), context) };
} catch (error) {
  outcome = { ok: false, error: { name: error?.name ?? 'Error', message: String(error?.message ?? error) } };
}
process.stdout.write('\\n${RESULT_TAG}' + JSON.stringify(outcome) + '\\n', () => process.exit(0));
`;

/** One structured log line. */
export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** What an invocation produced. */
export interface LambdaRun {
  ok: boolean;
  result: unknown;
  error: { name: string; message: string } | null;
  logs: LogLine[];
  /** EMF documents: the metric values are top-level fields next to `_aws`. */
  metrics: Record<string, unknown>[];
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** A started invocation. */
export interface RunningLambda {
  child: ChildProcess;
  done: Promise<LambdaRun>;
}

/** Where a locally invoked orchestrator finds its targets, bucket, EFS and the stand-ins. */
export interface LocalLambdaSetup {
  /** The targets file (as the stack packages it; see serializeTargets). */
  targetsFile: string;
  bucket: string;
  keyPrefix: string;
  efsDir: string;
  fastPathSeconds: number;
  region: string;
  ecsEndpoint: string;
  s3Endpoint: string;
  /** KMS for KMS-encrypted exec sessions (moto); default: a port nobody answers, so no call reaches AWS. */
  kmsEndpoint?: string;
}

/** The orchestrator's environment on this machine: what the CDKTF stack sets in AWS, pointed at the local S3 (moto) and the ECS stand-in. */
export function localLambdaEnv(o: LocalLambdaSetup): Record<string, string> {
  return {
    BACKUP_TARGETS_FILE: o.targetsFile,
    BUCKET: o.bucket,
    KEY_PREFIX: o.keyPrefix,
    EFS_MOUNT_PATH: o.efsDir,
    FAST_PATH_SECONDS: String(o.fastPathSeconds),
    POWERTOOLS_SERVICE_NAME: 'ecs-db-backup',
    POWERTOOLS_METRICS_NAMESPACE: 'EcsDbBackup',
    AWS_REGION: o.region,
    // Dummy keys: moto (and s3rver in the bench) take any; the stand-in checks none.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_ECS: o.ecsEndpoint,
    // The stand-in answers SSM's TerminateSession on the same endpoint.
    AWS_ENDPOINT_URL_SSM: o.ecsEndpoint,
    AWS_ENDPOINT_URL_KMS: o.kmsEndpoint ?? 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_S3: o.s3Endpoint,
    S3_FORCE_PATH_STYLE: '1',
    // The SDK's warning about Node 20 support is noise in the captured logs.
    NODE_NO_WARNINGS: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Invokes the bundle in a child process with `env` only (plus PATH), `remainingMs` as the Lambda's time budget. */
export function invokeBundle(bundle: string, event: unknown, env: Record<string, string>, remainingMs = 900_000): RunningLambda {
  const child = spawn(process.execPath, [join(dirname(bundle), 'runner.mjs'), bundle, JSON.stringify(event), String(remainingMs)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<LambdaRun>((resolveRun) => {
    child.once('close', (exitCode, signal) => {
      const logs: LogLine[] = [];
      const metrics: Record<string, unknown>[] = [];
      let outcome: { ok: boolean; result?: unknown; error?: { name: string; message: string } } = { ok: false };
      for (const line of `${stdout}\n${stderr}`.split('\n')) {
        if (line.startsWith(RESULT_TAG)) {
          outcome = JSON.parse(line.slice(RESULT_TAG.length)) as typeof outcome;
          continue;
        }
        if (!line.startsWith('{')) continue;
        try {
          const json = JSON.parse(line) as Record<string, unknown>;
          if ('_aws' in json) metrics.push(json);
          else if (typeof json.level === 'string') logs.push(json as LogLine);
        } catch {
          // not a JSON line
        }
      }
      resolveRun({ ok: outcome.ok, result: outcome.result, error: outcome.error ?? null, logs, metrics, stdout, stderr, exitCode, signal });
    });
  });
  return { child, done };
}

/** The value of metric `name` for `target` summed over an invocation's EMF documents, checking its dimensions are exactly service+target. */
export function metricSum(run: LambdaRun, name: string, target: string): number {
  let sum = 0;
  for (const doc of run.metrics) {
    const meta = (doc._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!;
    if (doc.target !== target || !meta.Metrics.some((m) => m.Name === name)) continue;
    if (JSON.stringify(meta.Dimensions) !== JSON.stringify([['service', 'target']]) || doc.service !== 'ecs-db-backup') {
      throw new Error(`metric ${name} has dimensions ${JSON.stringify(meta.Dimensions)} service=${String(doc.service)}`);
    }
    sum += Number(doc[name]);
  }
  return sum;
}
