import { LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putManifest } from '../../functions/shared/adapters/s3-backups.js';
import { backupKey, weekdayOf } from '../../functions/shared/core/s3-keys.js';
import { main, type StatusIo } from '../../scripts/status.js';
import type { TargetStatus } from '../../scripts/status/assess.js';
import { containerEnv, KEY_PREFIX, readRunJson, waitFor } from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * `npm run status` end to end: moto as S3 (real versioning), the built orchestrator bundle behind the
 * Lambda Invoke stand-in answering the status action, the ECS stand-in running real and fake pg_dumps
 * against a real PostgreSQL 15. Five targets: healthy (two real backups and a real drill), stale (its
 * last backup is three days old), failed (its last run failed), running (a dump in progress) and never
 * (nothing in S3).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
let w: RestoreHarness;
let pg: PostgresServer;
let configPath: string;
let runningDir = '';

const pgTarget = (name: string, service: string, extra: Record<string, unknown> = {}) => ({
  name, engine: 'postgres', service, container: service, database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', ...extra,
});

/** A good backup of `target` as the orchestrator would have written it, started `hoursAgo` ago. */
async function seedBackup(target: string, hoursAgo: number, size: number): Promise<void> {
  const started = new Date(Date.now() - hoursAgo * 3600_000);
  const weekday = weekdayOf(started, 'UTC');
  const key = backupKey(KEY_PREFIX, target, weekday, 'pgdump');
  const body = randomBytes(size);
  const put = await w.h.s3.client.send(new PutObjectCommand({ Bucket: w.h.s3.bucket, Key: key, Body: body }));
  const at = (s: number) => new Date(started.getTime() + s * 1000).toISOString();
  await putManifest(w.h.s3.client, w.h.s3.bucket, KEY_PREFIX, {
    version: 1, target, engine: 'postgres', key, weekday, size, sha256: createHash('sha256').update(body).digest('hex'),
    toolVersion: 'pg_dump (PostgreSQL) 15', runId: '20260101T000000Z-5eed00', sourceTask: 'seed', startedAt: at(0), dumpEndedAt: at(10),
    uploadedAt: at(12), checks: [], counts: null, objectVersionId: put.VersionId ?? null, dumpSeconds: 10, uploadSeconds: 2,
  });
}

type Outcome = { outcome: string; runId?: string };
const outcomeOf = (r: { result: unknown }) => (r.result as { results: Outcome[] }).results[0]!;

/** Invokes a manual backup until its run ends (the same request carries its run on). */
async function backupUntilEnded(target: string): Promise<Outcome> {
  let outcome = outcomeOf(await w.run({ action: 'backup', target }));
  for (let i = 0; i < 60 && !['succeeded', 'failed'].includes(outcome.outcome); i++) {
    await new Promise((r) => setTimeout(r, 500));
    outcome = outcomeOf(await w.run({ action: 'backup', target }));
  }
  return outcome;
}

function io(isTerminal = false): StatusIo & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', isTerminal, env: {}, now: () => new Date(), out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

const cliClients = (region: string) => ({
  s3: new S3Client({ region, endpoint: w.h.s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } }),
  lambda: new LambdaClient({ region, endpoint: w.lambda.endpoint, credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' } }),
});

const cliEnv = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  AWS_ENDPOINT_URL_LAMBDA: w.lambda.endpoint,
  AWS_ENDPOINT_URL_S3: w.h.s3.endpoint,
  S3_FORCE_PATH_STYLE: '1',
  AWS_ACCESS_KEY_ID: 'MOTO',
  AWS_SECRET_ACCESS_KEY: 'MOTO',
  NODE_NO_WARNINGS: '1',
});

beforeAll(async () => {
  [w, pg] = await startAll([startRestoreHarness(), startPostgres()]);
  await pg.createDatabase('app');
  await pg.psql('app', 'CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 2000) g;');
  w.h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  w.h.addService('failing', { env: containerEnv({ DB_PASSWORD: pg.password }, w.h.fakePgDump('echo "could not connect to server: Connection refused" >&2; exit 1')) });
  // 300 kB of a dump, then nothing until the test releases it.
  w.h.addService('slow', { env: containerEnv({ DB_PASSWORD: pg.password }, w.h.fakePgDump('head -c 300000 /dev/urandom\nwhile [ ! -e release ]; do sleep 0.2; done\nexit 3')) });
  const targets = [
    pgTarget('healthy', 'postgres', { port: pg.port, timeZone: 'Europe/Dublin' }),
    pgTarget('stale', 'postgres', { port: pg.port }),
    pgTarget('failed', 'failing', { port: pg.port }),
    pgTarget('running', 'slow', { port: pg.port }),
    pgTarget('never', 'postgres', { port: pg.port }),
  ];
  w.h.setTargets(targets);
  configPath = w.writeConfig(targets);

  // healthy: two real backups (the second one of more data, so the first is its non-current version) and a drill
  await w.backup('healthy');
  await pg.psql('app', 'INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(2001, 4000) g;');
  await w.backup('healthy');
  expect(await w.untilDone({ action: 'drill', target: 'healthy' })).toMatchObject({ outcome: 'succeeded' });
  // stale: three days old; failed and running: a good backup an hour ago, then a failed run or one in progress
  await Promise.all([seedBackup('stale', 72, 2000), seedBackup('failed', 1, 2000), seedBackup('running', 1, 1_000_000)]);
  expect(await backupUntilEnded('failed')).toMatchObject({ outcome: 'failed' });
  const started = outcomeOf(await w.run({ action: 'backup', target: 'running' }, { FAST_PATH_SECONDS: '0' }));
  expect(started).toMatchObject({ outcome: 'started' });
  runningDir = join(w.h.efsDir, 'running', started.runId!);
  await waitFor('300 kB of the running dump', async () => ((await stat(join(runningDir, 'dump.pgdump.tmp')).catch(() => null))?.size ?? 0) >= 300_000);
}, 240_000);

afterAll(async () => {
  if (runningDir) {
    await writeFile(join(runningDir, 'release'), '').catch(() => undefined);
    await waitFor('the released job to end', async () => existsSync(join(runningDir, 'done.gz')) || !existsSync(runningDir), 30_000).catch(() => undefined);
  }
  await Promise.allSettled([w?.stop(), pg?.stop()]);
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
    expect(s.lastDrill).toMatchObject({ outcome: 'passed', detail: expect.stringMatching(/^restored content matches \(rows of 1 tables, row digests of 1 tables/) });
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
    const record = await readRunJson(w.h.efsDir, 'running');
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
