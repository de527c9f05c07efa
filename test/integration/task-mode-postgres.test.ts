import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weekdayOf } from '../../functions/shared/core/s3-keys.js';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';
import { containerEnv, KEY_PREFIX, startHarness, waitFor, type Harness } from '../helpers/orchestrator-harness.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRunnerHarness, type RunnerHarness } from '../helpers/runner-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Mode "task" against a real PostgreSQL 15 reached over loopback as the "managed" database: the bundle reads the
 * target's secret from moto's Secrets Manager, writes the job to EFS and starts the runner task on the stand-in, which
 * runs the container's command as a local process with the password ECS would inject from the same secret. The
 * object restores (the product's own restore, in a runner task too) into a database with identical content; a task
 * that dies, a wrong password, a pg_dump older than the server and a secret missing a field each fail clearly and
 * leave the earlier backups as they were.
 */

const SUBNET = 'subnet-0123456789abcdef0';
const SG = 'sg-0123456789abcdef0';

let moto: MotoS3;
let h: Harness<MotoS3>;
let pg: PostgresServer;
let runner: RunnerHarness;
let scratch: string;

/** A directory standing for an image's tools: pg_dump that says it is version 14, the rest PostgreSQL 15's. */
function olderPgDumpDir(): string {
  const dir = mkdtempSync(join(scratch, 'pg14-'));
  writeFileSync(join(dir, 'pg_dump'), `#!/bin/sh\ncase "$1" in --version|-V) echo 'pg_dump (PostgreSQL) 14.12'; exit 0;; esac\nexec ${PG_BIN}/pg_dump "$@"\n`, { mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
}

/** A pg_dump that takes its whole task down with it (the kernel's OOM killer on the task's cgroup). */
function dyingPgDumpDir(): string {
  const dir = mkdtempSync(join(scratch, 'pgoom-'));
  writeFileSync(join(dir, 'pg_dump'), `#!/bin/sh\ncase "$1" in --version|-V) exec ${PG_BIN}/pg_dump "$@";; esac\nkill -KILL 0\n`, { mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
}

const secret = (name: string, fields: Record<string, unknown>) => runner.secret(name, fields);

const task = (image: string) => ({ image, subnetIds: [SUBNET], securityGroupIds: [SG] });

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'task-mode-'));
  [moto, pg] = await startAll([startMotoS3(), startPostgres()]);
  runner = await startRunnerHarness(moto, {
    'postgres:15': { env: containerEnv() },
    'postgres:14': { env: containerEnv({}, olderPgDumpDir()) },
    'postgres:15-oom': { env: containerEnv({}, dyingPgDumpDir()) },
  });
  h = runner.h;
  await pg.createDatabase('app');
  await pg.psql(
    'app',
    `CREATE TABLE items (id int PRIMARY KEY, name text, doc jsonb);
     INSERT INTO items SELECT g, 'item ' || g || ' ü', jsonb_build_object('n', g) FROM generate_series(1, 500) g;
     CREATE SCHEMA "Ärger"; CREATE TABLE "Ärger"."t 1" (v text); INSERT INTO "Ärger"."t 1" VALUES ('ß'), ('☃');`,
  );
  // RDS's own secret shape for the good one; the seed-style "endpoint" (host:port) for another.
  const good = { engine: 'postgres', host: '127.0.0.1', port: pg.port, username: 'postgres', password: pg.password, dbname: 'app' };
  const targets = [
    { name: 'rds-pg', secretArn: await secret('db/rds-pg', good), task: task('postgres:15') },
    { name: 'dies', secretArn: await secret('db/dies', good), task: task('postgres:15-oom') },
    { name: 'bad-pw', secretArn: await secret('db/bad-pw', { ...good, password: 'not-the-password' }), task: task('postgres:15') },
    { name: 'old-tools', secretArn: await secret('db/old-tools', { username: 'postgres', password: pg.password, endpoint: `127.0.0.1:${pg.port}`, dbname: 'app' }), task: task('postgres:14') },
    { name: 'no-host', secretArn: await secret('db/no-host', { username: 'postgres', password: pg.password, port: pg.port, dbname: 'app' }), task: task('postgres:15') },
  ];
  const parsed = h.setTargets(targets.map((t) => ({ ...t, engine: 'postgres', mode: 'task', database: 'app' })));
  for (const t of parsed) await h.registerRunner(t);
}, 180_000);

afterAll(async () => {
  await Promise.all([runner?.stop(), pg?.stop()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

type Outcome = { target: string; outcome: string; reason?: string; key?: string; runId?: string };

/** Backs `target` up now (the fast path waits for the dump), invoking again until the run has ended. */
async function backUp(target: string): Promise<{ outcome: Outcome; runs: LambdaRun[] }> {
  const runs: LambdaRun[] = [];
  const outcome = await waitFor(
    `the backup of ${target} to end`,
    async () => {
      const run = await h.run({ action: 'backup', target });
      runs.push(run);
      expect(run.error).toBeNull();
      const result = (run.result as { results: Outcome[] }).results[0]!;
      return ['succeeded', 'failed'].includes(result.outcome) ? result : null;
    },
    120_000,
  );
  return { outcome, runs };
}

/** The error log line of a failed run. */
function failureLog(runs: LambdaRun[]): Record<string, unknown> {
  const line = runs.flatMap((r) => r.logs).find((l) => l.level === 'ERROR' && /^backup failed: /.test(l.message));
  expect(line, JSON.stringify(runs.flatMap((r) => r.logs))).toBeDefined();
  return line!;
}

/** Every object under the target's prefix with its bytes, to show a failure left them as they were. */
async function objectsOf(target: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const day of ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']) {
    for (const ext of ['pgdump', 'json']) {
      const body = await h.getObject(`${KEY_PREFIX}${target}/${day}.${ext}`);
      if (body) out.set(`${day}.${ext}`, body.toString('base64'));
    }
  }
  return out;
}

describe('mode task, PostgreSQL', () => {
  it('backs up through a runner task, and the product restores the object into a database with identical content', async () => {
    const { outcome, runs } = await backUp('rds-pg');
    expect(outcome.outcome, JSON.stringify(runs.flatMap((r) => r.logs))).toBe('succeeded');
    expect(outcome.key).toMatch(new RegExp(`^${KEY_PREFIX}rds-pg/[a-z]+day\\.pgdump$`));
    expect(runs.reduce((n, r) => n + metricSum(r, 'BackupSuccess', 'rds-pg'), 0)).toBe(1);
    // The task ran the stack's task definition, in the configured network, with the run directory as its only override.
    const runTask = h.standin.calls.find((c) => c.operation === 'RunTask')!.input as Record<string, any>;
    expect(runTask.taskDefinition).toBe('ecs-db-backup-runner-rds-pg');
    expect(runTask.networkConfiguration.awsvpcConfiguration).toEqual({ subnets: [SUBNET], securityGroups: [SG], assignPublicIp: 'DISABLED' });
    expect(JSON.stringify(runTask)).not.toContain(pg.password);
    const manifest = JSON.parse((await h.getObject(outcome.key!.replace(/\.pgdump$/, '.json')))!.toString()) as Record<string, unknown>;
    expect(manifest.toolVersion).toMatch(/^pg_dump \(PostgreSQL\) 15\./);
    expect(JSON.stringify(manifest)).not.toContain(pg.password);
    for (const run of runs) expect(run.stdout + run.stderr).not.toContain(pg.password);

    const weekday = weekdayOf(new Date(), 'UTC');
    let restored: { outcome: string; reason?: string } | undefined;
    for (let i = 0; i < 40 && !(restored && ['succeeded', 'failed'].includes(restored.outcome)); i++) {
      const run = await h.run({ action: 'restore', target: 'rds-pg', backup: weekday, intoDatabase: 'app_restored', ...(restored && 'runId' in restored ? { runId: restored.runId } : {}) });
      expect(run.error).toBeNull();
      restored = (run.result as { result: { outcome: string; reason?: string; runId?: string } }).result;
      if (!['succeeded', 'failed'].includes(restored.outcome)) await new Promise((r) => setTimeout(r, 300));
    }
    expect(restored, JSON.stringify(restored)).toMatchObject({ outcome: 'succeeded' });
    expect(await pg.tableChecksums('app_restored')).toEqual(await pg.tableChecksums('app'));
  }, 180_000);

  it.each([
    ['a task that dies', 'dies', /task [0-9a-f]{32} stopped before the job wrote its marker: EssentialContainerExited: Essential container in task exited; container dump exited with code 137/, null],
    ['a wrong password', 'bad-pw', /step "server" exited with status 1/, /password authentication failed for user "postgres"/],
    ['a pg_dump older than the server', 'old-tools', /step "server" exited with status 1/, /pg_dump 14 is older than the server \(PostgreSQL 15\) and cannot dump it: set the target's task\.image to postgres:15 \(or newer\)/],
    ['a secret missing a field', 'no-host', /secret arn:aws:secretsmanager:[^ ]+:secret:db\/no-host-[A-Za-z0-9]+: is missing the field "host" \(or "endpoint"\)/, null],
  ])('fails clearly on %s, leaving the earlier backups as they were', async (_what, target, reason, stderr) => {
    await h.seedWeek(target, 'pgdump');
    const before = await objectsOf(target);
    const { outcome, runs } = await backUp(target);
    expect(outcome.outcome).toBe('failed');
    expect(outcome.reason).toMatch(reason);
    const log = failureLog(runs);
    if (stderr) expect(String(log.stderrTail)).toMatch(stderr);
    expect(runs.reduce((n, r) => n + metricSum(r, 'BackupFailure', target), 0)).toBe(1);
    expect(await objectsOf(target)).toEqual(before);
    for (const run of runs) expect(run.stdout + run.stderr).not.toContain(pg.password);
  }, 150_000);

  it('starts no task for a secret it cannot use', () => {
    const started = h.standin.calls.filter((c) => c.operation === 'RunTask').map((c) => (c.input as { taskDefinition: string }).taskDefinition);
    expect(started).not.toContain('ecs-db-backup-runner-no-host');
  });
});
