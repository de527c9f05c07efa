import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lastSuccessfulBackup } from '../../functions/shared/adapters/s3-backups.js';
import { metricSum } from '../../test/helpers/lambda-runner.js';
import { containerEnv, KEY_PREFIX, SCHEDULED_EVENT, startHarness, type Harness } from '../../test/helpers/orchestrator-harness.js';
import { withStarted } from './cleanup.js';
import type { BenchPostgres } from './pg-database.js';
import type { E2eResult, E2eRun, ResumeRun } from './results.js';
import type { Plan, Row, Sample } from './runner.js';
import { median } from './timed.js';

const TARGET = 'bench-pg';
/** Long enough for the whole dump: one invocation starts it, waits for done.gz, uploads, verifies and writes the manifest. */
const FAST_PATH_SECONDS = 600;

/** Options of the end-to-end benchmark. */
export interface E2eBenchOptions {
  repeats: number;
  log: (line: string) => void;
}

async function emptyTargetFolder(h: Harness): Promise<void> {
  const listed = await h.s3.client.send(new ListObjectsV2Command({ Bucket: h.s3.bucket, Prefix: `${KEY_PREFIX}${TARGET}/` }));
  for (const o of listed.Contents ?? []) await h.s3.client.send(new DeleteObjectCommand({ Bucket: h.s3.bucket, Key: o.Key! }));
}

async function objectSha256(h: Harness, key: string): Promise<string> {
  const res = await h.s3.client.send(new GetObjectCommand({ Bucket: h.s3.bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of res.Body as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** One hourly invocation of the built Lambda, from invoke to `succeeded`; checks the object against its manifest. */
async function invokeOnce(h: Harness): Promise<E2eRun> {
  // With no manifest in the bucket the target is due again: every repeat is a first backup.
  await emptyTargetFolder(h);
  const started = performance.now();
  const run = await h.run(SCHEDULED_EVENT);
  const wallSeconds = (performance.now() - started) / 1000;
  const results = (run.result as { results?: { target: string; outcome: string; runId?: string; reason?: string }[] } | undefined)?.results ?? [];
  const outcome = results.find((r) => r.target === TARGET);
  if (run.error || outcome?.outcome !== 'succeeded') {
    const logs = run.logs.slice(-8).map((l) => `  ${l.level} ${l.message} ${JSON.stringify(l)}`).join('\n');
    throw new Error(`the Lambda did not report succeeded: ${run.error ? `${run.error.name}: ${run.error.message}` : JSON.stringify(results)}\n${logs}\n${run.stderr.slice(-1000)}`);
  }
  const manifest = await lastSuccessfulBackup(h.s3.client, h.s3.bucket, KEY_PREFIX, TARGET);
  if (manifest === null || manifest.runId !== outcome.runId) throw new Error(`no manifest of run ${outcome.runId} in the bucket`);
  const sha = await objectSha256(h, manifest.key);
  if (sha !== manifest.sha256) throw new Error(`${manifest.key} has sha256 ${sha}, its manifest says ${manifest.sha256}`);
  const at = (iso: string) => Date.parse(iso) / 1000;
  const uploadMetric = run.metrics.some((m) => m.target === TARGET && typeof m.UploadSeconds === 'number') ? metricSum(run, 'UploadSeconds', TARGET) : null;
  return {
    wallSeconds,
    // dumpEndedAt has whole seconds (the container's clock) and startedAt milliseconds: clamp at 0 as the DumpSeconds metric does.
    dumpSeconds: Math.max(0, at(manifest.dumpEndedAt) - at(manifest.startedAt)),
    afterDumpSeconds: at(manifest.uploadedAt) - at(manifest.dumpEndedAt),
    uploadSeconds: uploadMetric,
    objectBytes: manifest.size,
  };
}

/** The end-to-end plan for the dump section's round robin, and its result once the floor's row is known. */
export interface E2ePlan {
  plan: Plan<Sample>;
  result(floor: Row): E2eResult;
  /** One backup through hourly invocations that each have `budgetSeconds` of work (their time limit set low). */
  resume(budgetSeconds: number): Promise<ResumeRun>;
}

/** The Lambda's SAFETY_MARGIN_MS (functions/orchestrator/handler.ts): an invocation works until its remaining time is this. */
const SAFETY_MARGIN_MS = 45_000;
/** Invocations a resumed backup may take before the bench gives up. */
const MAX_INVOCATIONS = 400;

/** sha256 of a file, streamed. */
async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Invokes the built Lambda again and again, each time with only `budgetSeconds` before its safety margin, until the
 * target reports succeeded. When the dump is finished on EFS (done.gz), the bench hashes the file itself; the object
 * in S3 must have that sha256: several invocations, each resuming the multipart upload, made one byte-identical object.
 */
async function resumeRun(h: Harness, budgetSeconds: number, log: (line: string) => void): Promise<ResumeRun> {
  await emptyTargetFolder(h);
  const outcomes: string[] = [];
  let dumpSha: string | null = null;
  const started = performance.now();
  for (let i = 0; i < MAX_INVOCATIONS; i++) {
    const run = await h.run(SCHEDULED_EVENT, { remainingMs: SAFETY_MARGIN_MS + budgetSeconds * 1000 });
    const results = (run.result as { results?: { target: string; outcome: string; runId?: string; reason?: string }[] } | undefined)?.results ?? [];
    const outcome = results.find((r) => r.target === TARGET);
    if (run.error || outcome === undefined || outcome.outcome === 'failed') throw new Error(`resumed backup: invocation ${i + 1} failed: ${run.error?.message ?? outcome?.reason ?? JSON.stringify(results)}`);
    outcomes.push(outcome.outcome);
    if (dumpSha === null && outcome.runId !== undefined) {
      const runDir = join(h.efsDir, TARGET, outcome.runId);
      if (existsSync(join(runDir, 'done.gz'))) {
        const file = readdirSync(runDir).find((f) => f.startsWith('dump.') && !f.endsWith('.chunks'));
        if (file !== undefined) dumpSha = await fileSha256(join(runDir, file));
      }
    }
    if (outcome.outcome === 'succeeded') break;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const manifest = await lastSuccessfulBackup(h.s3.client, h.s3.bucket, KEY_PREFIX, TARGET);
  if (manifest === null) throw new Error(`resumed backup: no manifest after ${outcomes.length} invocations (${outcomes.join(', ')})`);
  const objectSha = await objectSha256(h, manifest.key);
  log(`  resumed backup: ${outcomes.length} invocations (${outcomes.filter((o) => o === 'uploading').length} uploading), object sha256 ${objectSha.slice(0, 12)}…, dump on EFS ${dumpSha?.slice(0, 12) ?? 'not seen'}…`);
  return {
    budgetSeconds,
    invocations: outcomes.length,
    uploadingInvocations: outcomes.filter((o) => o === 'uploading').length,
    wallSeconds,
    objectBytes: manifest.size,
    identical: dumpSha !== null && dumpSha === objectSha && objectSha === manifest.sha256,
  };
}

/**
 * The real path, once per repeat: the built Lambda bundle invoked with the hourly event through the orchestrator
 * harness (ECS Exec stand-in, a temp dir as EFS, moto's S3 behind its proxy) backing up the bench database. `body` gets
 * the plan to run round robin with the dump section's plans, so end to end and dump share the very same floor runs.
 */
export async function withE2ePlan<T>(db: BenchPostgres, opts: Pick<E2eBenchOptions, 'log'>, body: (e2e: E2ePlan) => Promise<T>): Promise<T> {
  opts.log("e2e: building the Lambda bundle, starting moto's S3 and the ECS stand-in...");
  return withStarted(() => startHarness({ fastPathSeconds: FAST_PATH_SECONDS }), async (h) => {
    h.addService('bench-db', { env: containerEnv({ DB_PASSWORD: db.pg.password }) });
    h.setTargets([
      { name: TARGET, engine: 'postgres', service: 'bench-db', container: 'bench-db', database: db.target.database, user: 'postgres', passwordEnv: 'DB_PASSWORD', port: db.pg.port },
    ]);
    const runs: E2eRun[] = [];
    const e2ePlan: Plan<Sample> = {
      label: 'end to end: Lambda invoke → succeeded',
      async run() {
        const r = await invokeOnce(h);
        runs.push(r);
        // The Lambda runs in a child node and the dump in the stand-in's pty: neither is under /usr/bin/time.
        return { wallSeconds: r.wallSeconds, cpuSeconds: 0, maxRssKiB: 0, bytes: r.objectBytes };
      },
    };
    const result = (floor: Row): E2eResult => {
      const m = (pick: (r: E2eRun) => number) => median(runs.map(pick));
      const uploads = runs.map((r) => r.uploadSeconds).filter((u): u is number => u !== null);
      return {
        database: db.database,
        floor,
        median: {
          wallSeconds: m((r) => r.wallSeconds),
          dumpSeconds: m((r) => r.dumpSeconds),
          afterDumpSeconds: m((r) => r.afterDumpSeconds),
          uploadSeconds: uploads.length > 0 ? median(uploads) : null,
          objectBytes: m((r) => r.objectBytes),
        },
        wallRange: [Math.min(...runs.map((r) => r.wallSeconds)), Math.max(...runs.map((r) => r.wallSeconds))],
        runs,
      };
    };
    return body({ plan: e2ePlan, result, resume: (budgetSeconds) => resumeRun(h, budgetSeconds, opts.log) });
  });
}
