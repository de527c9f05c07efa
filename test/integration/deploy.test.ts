import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOrchestratorBundle } from '../../modules/orchestrator-bundle.js';
import { EMULATOR_GAPS } from '../../scripts/verify-deploy/drift.js';
import { verifyDeployment, type Deployed, type DeploymentReport } from '../../scripts/verify-deploy/deployment.js';
import { READ_BACK_ROWS } from '../../scripts/verify-deploy/read-back.js';
import { startDeployedSystem, type DeployedSystem } from '../helpers/deployed-system.js';
import type { LambdaRun } from '../helpers/lambda-runner.js';
import { SCHEDULED_EVENT } from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

/**
 * `cdktf deploy` for real, once, in `npm test`: examples/minimal.json (its target pointed at a real
 * PostgreSQL 15 here) deployed into moto with IAM enforced by the real CLI, read back, then the deployed
 * system run: the deployed code, environment and role (assumed in moto) against moto's S3 and the ECS
 * stand-in. A scheduled invocation uploads a verified backup, a second backup makes it non-current, a
 * restore by its version id brings it back; the read-back runs again after it. The second plan and
 * `cdktf destroy`, for every config in both forms: `npm run verify:deploy`.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET = 'app-pg';

type Outcome = { target?: string; outcome: string; key?: string; reason?: string; runId?: string };
const results = (r: LambdaRun) => (r.result as { results: Outcome[] }).results;
const jobResult = (r: LambdaRun) => (r.result as { result: Outcome }).result;

let pg: PostgresServer;
let workDir: string;
let report: DeploymentReport;
const seen: {
  scheduled?: Outcome;
  first?: { key: string; versionId: string; body: Buffer; manifest: Record<string, unknown> };
  second?: { versionId: string };
  versions?: Array<{ versionId: string; latest: boolean }>;
  restored?: Outcome;
  deniedOutsidePrefix?: string;
  firstChecksums?: Map<string, string> | Record<string, string>;
  restoredChecksums?: unknown;
} = {};

/** Invokes until the outcome is no longer "started"/"waiting" (the same request carries its run on). */
async function untilEnded(system: DeployedSystem, event: Record<string, unknown>, pick: (r: LambdaRun) => Outcome): Promise<Outcome> {
  let r = await system.invoke(event);
  for (let i = 0; i < 60; i++) {
    if (r.error !== null) throw new Error(`${JSON.stringify(r.error)}\n${r.stderr.slice(-2000)}`);
    const o = pick(r);
    if (o.outcome === 'failed') throw new Error(`${JSON.stringify(event)} failed: ${JSON.stringify(o)}\n${r.stdout.slice(-3000)}`);
    if (o.outcome !== 'started' && o.outcome !== 'waiting') return o;
    await new Promise((res) => setTimeout(res, 500));
    r = await system.invoke(o.runId !== undefined && event.action === 'restore' ? { ...event, runId: o.runId } : event);
  }
  throw new Error(`${JSON.stringify(event)} did not end`);
}

async function objectBytes(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function runDeployedSystem(d: Deployed): Promise<void> {
  const step = (what: string) => process.stdout.write(`  deployed system: ${what}\n`);
  const system = await startDeployedSystem(d, { DB_PASSWORD: pg.password });
  try {
    step('scheduled invocation');
    seen.firstChecksums = await pg.tableChecksums('app');
    const scheduled = await untilEnded(system, SCHEDULED_EVENT, (r) => results(r).find((o) => o.target === TARGET)!);
    seen.scheduled = scheduled;
    expect(scheduled, JSON.stringify(scheduled)).toMatchObject({ outcome: 'succeeded' });
    const key = scheduled.key!;
    const v1 = (await system.s3.send(new HeadObjectCommand({ Bucket: system.bucket, Key: key }))).VersionId!;
    const manifestKey = key.replace(/\.pgdump$/, '.json');
    seen.first = { key, versionId: v1, body: await objectBytes(system.s3, system.bucket, key), manifest: JSON.parse((await objectBytes(system.s3, system.bucket, manifestKey)).toString()) as Record<string, unknown> };

    step('second backup');
    await pg.psql('app', "INSERT INTO items SELECT g, 'second ' || g FROM generate_series(1001, 1500) g;");
    const second = await untilEnded(system, { action: 'backup', target: TARGET }, (r) => results(r)[0]!);
    expect(second, JSON.stringify(second)).toMatchObject({ outcome: 'succeeded', key });
    seen.second = { versionId: (await system.s3.send(new HeadObjectCommand({ Bucket: system.bucket, Key: key }))).VersionId! };
    const listed = await system.s3.send(new ListObjectVersionsCommand({ Bucket: system.bucket, Prefix: key }));
    seen.versions = (listed.Versions ?? []).filter((v) => v.Key === key).map((v) => ({ versionId: v.VersionId!, latest: v.IsLatest === true }));

    step('restore by version id');
    seen.restored = await untilEnded(system, { action: 'restore', target: TARGET, backup: { versionId: v1 }, intoDatabase: 'app_v1' }, jobResult);
    seen.restoredChecksums = await pg.tableChecksums('app_v1');

    // The role's own credentials, against moto's IAM: a key outside the prefix is refused.
    const asRole = new S3Client({ endpoint: d.aws.endpoint, region: d.config.region, forcePathStyle: true, credentials: system.roleCredentials });
    try {
      await asRole.send(new PutObjectCommand({ Bucket: system.bucket, Key: 'outside-the-prefix/x', Body: 'x' }));
      seen.deniedOutsidePrefix = 'allowed';
    } catch (error) {
      seen.deniedOutsidePrefix = (error as { name?: string }).name ?? String(error);
    } finally {
      asRole.destroy();
    }
  } finally {
    step('stop');
    await system.stop();
  }
}

beforeAll(async () => {
  pg = await startPostgres();
  await pg.createDatabase('app');
  await pg.psql('app', "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 1000) g;");
  workDir = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  const bundle = buildOrchestratorBundle({ outDir: join(workDir, 'bundle') });
  report = await verifyDeployment({
    examplePath: join(ROOT, 'examples/minimal.json'),
    form: 'json',
    workDir: join(workDir, 'minimal-json'),
    bundleDir: bundle.dir,
    log: (line) => process.stdout.write(`${line}\n`),
    // The example's one target, pointed at this machine's PostgreSQL (its port and password).
    adjust: (config) => ({
      ...config,
      targets: (config.targets as Record<string, unknown>[]).map((t) => ({ ...t, user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port })),
    }),
    whileDeployed: runDeployedSystem,
    // npm test's budget: the second plan and the destroy run in npm run verify:deploy (every config, both forms).
    deployOnly: true,
  });
}, 600_000);

afterAll(async () => {
  await pg?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('cdktf deploy into moto (examples/minimal.json)', () => {
  it('deploys what the config asks for, and the run leaves it so', () => {
    expect(report.problems).toEqual([]);
  });

  it('meets only the named emulator gaps', () => {
    const named = [...READ_BACK_ROWS.flatMap((r) => (r.emulatorGap ? [r.emulatorGap.why] : [])), ...EMULATOR_GAPS.map((g) => g.why)];
    for (const gap of report.gaps) expect(named.some((why) => gap.endsWith(why)), gap).toBe(true);
  });
});

describe('the deployed system', () => {
  it('uploads a verified backup on a scheduled invocation', () => {
    expect(seen.scheduled?.outcome, JSON.stringify(seen.scheduled)).toBe('succeeded');
    const { body, manifest, key } = seen.first!;
    expect(manifest).toMatchObject({ target: TARGET, engine: 'postgres', key, size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    expect(body.subarray(0, 5).toString()).toBe('PGDMP');
  });

  it('keeps the first backup as a non-current version when the second replaces it', () => {
    expect(seen.second!.versionId).not.toBe(seen.first!.versionId);
    expect(seen.versions).toEqual(expect.arrayContaining([{ versionId: seen.first!.versionId, latest: false }, { versionId: seen.second!.versionId, latest: true }]));
  });

  it('restores the first backup by its version id', () => {
    expect(seen.restored, JSON.stringify(seen.restored)).toMatchObject({ outcome: 'succeeded' });
    expect(seen.restoredChecksums).toEqual(seen.firstChecksums);
  });

  it("runs with the role's permissions: a key outside the prefix is denied", () => {
    expect(seen.deniedOutsidePrefix).toBe('AccessDenied');
  });
});
