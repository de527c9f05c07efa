import { LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putManifest } from '../../functions/shared/adapters/s3-backups.js';
import { backupKey, weekdayOf } from '../../functions/shared/core/s3-keys.js';
import { startLambdaApi, type LambdaApi } from '../../scripts/standin/lambda-api.js';
import { main, type StatusIo } from '../../scripts/status.js';
import type { TargetStatus } from '../../scripts/status/assess.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';
import { CLUSTER, CONTAINER_BACKUP_DIR, containerEnv, KEY_PREFIX, readRunJson, startHarness, waitFor, type Harness } from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startAll } from '../helpers/start-all.js';

/**
 * `npm run status` end to end: moto as S3 (real versioning), the built orchestrator bundle behind the
 * Lambda Invoke stand-in answering the status action, the ECS stand-in running real and fake pg_dumps
 * against a real PostgreSQL 15. Five targets: healthy (two real backups and a real drill), stale (its
 * last backup is three days old), failed (its last run failed), running (a dump in progress) and never
 * (nothing in S3).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FUNCTION = 'ecs-db-backup-orchestrator';
let h: Harness<MotoS3>;
let pg: PostgresServer;
let lambda: LambdaApi;
let configPath: string;
let runningDir = '';
const dir = mkdtempSync(join(tmpdir(), 'status-it-'));

const pgTarget = (name: string, service: string, extra: Record<string, unknown> = {}) => ({
  name, engine: 'postgres', service, container: service, database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', ...extra,
});

/** A good backup of `target` as the orchestrator would have written it, started `hoursAgo` ago. */
async function seedBackup(target: string, hoursAgo: number, size: number): Promise<void> {
  const started = new Date(Date.now() - hoursAgo * 3600_000);
  const weekday = weekdayOf(started, 'UTC');
  const key = backupKey(KEY_PREFIX, target, weekday, 'pgdump');
  const body = randomBytes(size);
  const put = await h.s3.client.send(new PutObjectCommand({ Bucket: h.s3.bucket, Key: key, Body: body }));
  const at = (s: number) => new Date(started.getTime() + s * 1000).toISOString();
  await putManifest(h.s3.client, h.s3.bucket, KEY_PREFIX, {
    version: 1, target, engine: 'postgres', key, weekday, size, sha256: createHash('sha256').update(body).digest('hex'),
    toolVersion: 'pg_dump (PostgreSQL) 15', runId: '20260101T000000Z-5eed00', sourceTask: 'seed', startedAt: at(0), dumpEndedAt: at(10),
    uploadedAt: at(12), checks: [], counts: null, objectVersionId: put.VersionId ?? null, dumpSeconds: 10, uploadSeconds: 2,
  });
}

type Outcome = { outcome: string; runId?: string; reason?: string; key?: string };
const outcomeOf = (r: { result: unknown }) => (r.result as { results?: Outcome[]; result?: Outcome }).results?.[0] ?? (r.result as { result: Outcome }).result;

/** Invokes `event` until its run ends (a manual request carries its own run on). */
async function untilEnded(event: Record<string, unknown>): Promise<Outcome> {
  let outcome = outcomeOf(await h.run(event));
  for (let i = 0; i < 60 && !['succeeded', 'failed'].includes(outcome.outcome); i++) {
    await new Promise((r) => setTimeout(r, 500));
    outcome = outcomeOf(await h.run(outcome.runId && event.action === 'drill' ? { ...event, runId: outcome.runId } : event));
  }
  return outcome;
}

function io(isTerminal = false): StatusIo & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', isTerminal, env: {}, now: () => new Date(), out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

const cliClients = (region: string) => ({
  s3: new S3Client({ region, endpoint: h.s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } }),
  lambda: new LambdaClient({ region, endpoint: lambda.endpoint, credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } }),
});

const cliEnv = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
  AWS_ENDPOINT_URL_S3: h.s3.endpoint,
  S3_FORCE_PATH_STYLE: '1',
  AWS_ACCESS_KEY_ID: 'MOTO',
  AWS_SECRET_ACCESS_KEY: 'MOTO',
  NODE_NO_WARNINGS: '1',
});

beforeAll(async () => {
  [h, pg] = await startAll([startHarness({ fastPathSeconds: 30, startS3: startMotoS3 }), startPostgres()]);
  lambda = await startLambdaApi({
    functions: [FUNCTION],
    invoke: async (_name, event) => {
      const r = await h.run(event);
      return r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error ?? { name: 'Error', message: r.stderr.slice(-500) } };
    },
  });
  await pg.createDatabase('app');
  await pg.psql('app', 'CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 2000) g;');
  const env = containerEnv({ DB_PASSWORD: pg.password });
  h.addService('postgres', { env });
  h.addService('failing', { env: containerEnv({ DB_PASSWORD: pg.password }, h.fakePgDump('echo "could not connect to server: Connection refused" >&2; exit 1')) });
  // 300 kB of a dump, then nothing until the test releases it.
  h.addService('slow', { env: containerEnv({ DB_PASSWORD: pg.password }, h.fakePgDump('head -c 300000 /dev/urandom\nwhile [ ! -e release ]; do sleep 0.2; done\nexit 3')) });
  const targets = [
    pgTarget('healthy', 'postgres', { port: pg.port, timeZone: 'Europe/Dublin' }),
    pgTarget('stale', 'postgres', { port: pg.port }),
    pgTarget('failed', 'failing', { port: pg.port }),
    pgTarget('running', 'slow', { port: pg.port }),
    pgTarget('never', 'postgres', { port: pg.port }),
  ];
  h.setTargets(targets);
  configPath = join(dir, 'backup.config.json');
  writeFileSync(configPath, JSON.stringify({
    region: h.standin.region, bucket: { name: h.s3.bucket, existing: true }, keyPrefix: KEY_PREFIX, vpcId: 'vpc-0a1b2c3d4e5f60718',
    subnetIds: ['subnet-0a1b2c3d4e5f60711'], efs: { fileSystemId: 'fs-0a1b2c3d4e5f60733', mountTargetSecurityGroupId: 'sg-0a1b2c3d4e5f60744' },
    targets: targets.map((t) => ({ cluster: CLUSTER, backupDir: CONTAINER_BACKUP_DIR, ...t })),
  }));

  // healthy: two real backups (the second one of more data, so the first is its non-current version) and a drill
  expect(await untilEnded({ action: 'backup', target: 'healthy' })).toMatchObject({ outcome: 'succeeded' });
  await pg.psql('app', 'INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(2001, 4000) g;');
  expect(await untilEnded({ action: 'backup', target: 'healthy' })).toMatchObject({ outcome: 'succeeded' });
  expect(await untilEnded({ action: 'drill', target: 'healthy' })).toMatchObject({ outcome: 'succeeded' });
  // stale: three days old; failed and running: a good backup an hour ago, then a failed run or one in progress
  await Promise.all([seedBackup('stale', 72, 2000), seedBackup('failed', 1, 2000), seedBackup('running', 1, 1_000_000)]);
  expect(await untilEnded({ action: 'backup', target: 'failed' })).toMatchObject({ outcome: 'failed' });
  const started = outcomeOf(await h.run({ action: 'backup', target: 'running' }, { env: { FAST_PATH_SECONDS: '0' } }));
  expect(started).toMatchObject({ outcome: 'started' });
  runningDir = join(h.efsDir, 'running', started.runId!);
  await waitFor('300 kB of the running dump', async () => {
    const { stat } = await import('node:fs/promises');
    return ((await stat(join(runningDir, 'dump.pgdump.tmp')).catch(() => null))?.size ?? 0) >= 300_000;
  });
}, 240_000);

afterAll(async () => {
  if (runningDir) {
    await writeFile(join(runningDir, 'release'), '').catch(() => undefined);
    await waitFor('the released job to end', async () => existsSync(join(runningDir, 'done.gz')) || !existsSync(runningDir), 30_000).catch(() => undefined);
  }
  await lambda?.stop();
  await Promise.allSettled([h?.stop(), pg?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run status', () => {
  let statuses: Map<string, TargetStatus>;
  let exitCode: number;

  beforeAll(async () => {
    const out = io();
    exitCode = await main(['--config', configPath, '--json'], out, cliClients);
    expect(out.stderr).toBe('');
    statuses = new Map((JSON.parse(out.stdout) as { targets: TargetStatus[] }).targets.map((s) => [s.target, s]));
  }, 60_000);

  it('exits 1 because some targets are unhealthy', () => {
    expect(exitCode).toBe(1);
    expect([...statuses.keys()]).toEqual(['healthy', 'stale', 'failed', 'running', 'never']);
  });

  it('shows the healthy target with its last backup, trend, times, next slot and drill', () => {
    const s = statuses.get('healthy')!;
    expect(s).toMatchObject({ health: 'ok', reasons: [], run: null, lastFailure: null, nextDue: { now: false } });
    expect(s.lastBackup!.size).toBeGreaterThan(s.previousBackup!.size);
    expect(s.sizeChangePercent).toBeCloseTo(((s.lastBackup!.size - s.previousBackup!.size) / s.previousBackup!.size) * 100);
    expect(s.lastBackup!.weekday).toBe(weekdayOf(new Date(s.lastBackup!.startedAt), 'Europe/Dublin'));
    expect(s.lastBackup!.dumpSeconds).toEqual(expect.any(Number));
    expect(s.lastBackup!.uploadSeconds).toEqual(expect.any(Number));
    expect(Date.parse(s.nextDue!.at)).toBeGreaterThan(Date.now());
    expect(s.lastDrill).toMatchObject({ outcome: 'passed', detail: expect.stringMatching(/restored counts match the manifest \(1 compared\)/) });
  });

  it('calls a target whose last backup is three days old stale, and its next backup due now', () => {
    expect(statuses.get('stale')).toMatchObject({ health: 'stale', healthy: false, nextDue: { now: true }, reasons: [expect.stringMatching(/^stale: no backup since the one due at /)] });
  });

  it('calls a target whose last run failed after its last success failed, with the reason', () => {
    expect(statuses.get('failed')).toMatchObject({ health: 'failed', lastFailure: { reason: 'step "dump" exited with status 1' } });
    expect(statuses.get('failed')!.reasons[0]).toMatch(/^failed: the last run failed at .*: step "dump" exited with status 1$/);
  });

  it('shows the running dump with its phase and an estimate against the last size', async () => {
    const s = statuses.get('running')!;
    const record = await readRunJson(h.efsDir, 'running');
    expect(s).toMatchObject({ health: 'ok', run: { kind: 'backup', phase: 'running', runId: record!.runId, activity: 'dump running', estimated: true } });
    const run = s.run as { percent: number; bytes: number };
    expect(run.bytes).toBeGreaterThanOrEqual(300_000);
    expect(run.percent).toBe(Math.floor((run.bytes / 1_000_000) * 100));
  });

  it('calls a target with nothing in S3 never', () => {
    expect(statuses.get('never')).toMatchObject({ health: 'never', lastBackup: null, run: null, nextDue: { now: true }, reasons: ['never: no verified backup in S3 yet'] });
  });

  it("shows one target's week: every weekday key and the older version of today's", async () => {
    const out = io();
    expect(await main(['--config', configPath, '--target', 'healthy'], out, cliClients)).toBe(0);
    const today = statuses.get('healthy')!.lastBackup!;
    const lines = out.stdout.split('\n');
    const todayRow = lines.findIndex((l) => l.startsWith(`${today.weekday} `));
    expect(lines[todayRow]).toMatch(new RegExp(`^${today.weekday} +current +[0-9.]+ KiB .* ${today.versionId}$`));
    expect(lines[todayRow + 1]).toMatch(/^ +older +[0-9.]+ KiB /);
    expect(lines.filter((l) => /^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) /.test(l))).toHaveLength(7);
    expect(out.stdout).toMatch(/^healthy +ok +/m);
  });

  it('prints the table without colours through a pipe, and exits 1', async () => {
    const result = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/status.ts'), '--config', configPath], { cwd: ROOT, env: cliEnv() }, (error, stdout) =>
        done({ code: error ? Number(error.code) : 0, stdout }));
    });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('\x1b[');
    expect(result.stdout).toMatch(/^TARGET +HEALTH +LAST BACKUP/);
    for (const [name, word] of [['healthy', 'ok'], ['stale', 'stale'], ['failed', 'failed'], ['running', 'ok'], ['never', 'never']]) {
      expect(result.stdout).toMatch(new RegExp(`^${name} +${word} `, 'm'));
    }
    expect(result.stdout).toMatch(/^running .* dump running \d+s, ~\d+%/m);
  }, 60_000);

  it('colours the health words on a terminal', async () => {
    const pty = createRequire(import.meta.url)('node-pty') as typeof import('node-pty');
    const term = pty.spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/status.ts'), '--config', configPath], { cwd: ROOT, env: cliEnv(), cols: 250, rows: 40 });
    let output = '';
    term.onData((d) => (output += d));
    const code = await new Promise<number>((done) => term.onExit(({ exitCode }) => done(exitCode)));
    expect(code).toBe(1);
    expect(output).toContain('\x1b[32mok');
    expect(output).toContain('\x1b[31mfailed');
  }, 60_000);
});
