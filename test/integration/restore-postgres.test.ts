import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LambdaRun } from '../helpers/lambda-runner.js';
import { containerEnv, SCHEDULED_EVENT } from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Restores of PostgreSQL through the built orchestrator, the ECS stand-in, moto's versioned S3 and
 * a real PostgreSQL 15: back up, change the data, restore, and get exactly the backed-up content back
 * (several schemas, large objects, non-ASCII names and data, extensions); an older version id restores
 * its own content; the live database is never touched without overwrite, by the orchestrator or the CLI.
 */

let w: RestoreHarness;
let pg: PostgresServer;
/** Checksums of `app` at the first and the second backup. */
let first: Record<string, string>;
let second: Record<string, string>;
let v1: { key: string; versionId: string };
let v2: { key: string; versionId: string };

const TARGET = { name: 'pg', engine: 'postgres', service: 'postgres', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD' };

const SETUP = `
CREATE EXTENSION hstore;
CREATE EXTENSION pgcrypto;
CREATE SCHEMA sales;
CREATE SCHEMA "Ünïcødé";
CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL, doc jsonb, tags hstore);
INSERT INTO public.items SELECT g, 'item ' || g || ' ü ☃ 日本語', jsonb_build_object('n', g, 'ß', 'straße'), hstore('k', g::text)
  FROM generate_series(1, 3000) g;
CREATE TABLE sales.orders (id serial PRIMARY KEY, item int REFERENCES public.items, amount numeric(10, 2), at timestamptz DEFAULT '2026-01-01T00:00:00Z');
INSERT INTO sales.orders (item, amount) SELECT 1 + g % 3000, g * 1.25 FROM generate_series(1, 2000) g;
CREATE TABLE "Ünïcødé"."Tæbla ✓" ("Kolumn ß" text, digest bytea);
INSERT INTO "Ünïcødé"."Tæbla ✓" SELECT 'wert ' || g || ' Ωμέγα', digest('x' || g, 'sha256') FROM generate_series(1, 100) g;
CREATE TABLE public.docs (id int PRIMARY KEY, body oid);
INSERT INTO public.docs VALUES (1, lo_from_bytea(0, convert_to(repeat('große Daten ', 20000), 'UTF8'))),
                               (2, lo_from_bytea(0, decode(repeat('00ff10', 5000), 'hex')));
CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 100;
`;

beforeAll(async () => {
  [w, pg] = await startAll([startRestoreHarness(), startPostgres()]);
  await pg.createDatabase('app');
  await pg.psql('app', SETUP);
  w.h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  w.h.setTargets([{ ...TARGET, port: pg.port }]);
  w.writeConfig([{ ...TARGET, port: pg.port }]);

  v1 = await w.backup('pg');
  first = await pg.tableChecksums('app');
  await pg.psql('app', `UPDATE public.items SET name = 'changed' WHERE id <= 50; DELETE FROM sales.orders WHERE id % 2 = 0;
    UPDATE public.docs SET body = lo_from_bytea(0, convert_to('replaced', 'UTF8')) WHERE id = 2;`);
  v2 = await w.backup('pg');
  second = await pg.tableChecksums('app');
  // The live data moves on after the last backup.
  await pg.psql('app', `UPDATE public.items SET doc = '{}' WHERE id > 2900; INSERT INTO "Ünïcødé"."Tæbla ✓" VALUES ('neu', NULL);`);
}, 240_000);

afterAll(async () => {
  await Promise.all([w?.stop(), pg?.stop()]);
});

const databases = async () => (await pg.psql('postgres', 'SELECT datname FROM pg_database ORDER BY 1')).split('\n').filter(Boolean);

describe('restoring PostgreSQL through the orchestrator', () => {
  it('has two versions of the same weekday object, with different content', () => {
    expect(v1.key).toBe(v2.key);
    expect(v1.versionId).not.toBe(v2.versionId);
    expect(first).not.toEqual(second);
    expect(Object.keys(first)).toEqual(
      expect.arrayContaining(['public.items', 'sales.orders', '"Ünïcødé"."Tæbla ✓"', 'public.docs', '<large objects>']),
    );
  });

  it('restores an older version id (not the current weekday object) into a new database, exactly', async () => {
    const result = await w.untilDone({ action: 'restore', target: 'pg', backup: { versionId: v1.versionId }, intoDatabase: 'app_v1' });
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'succeeded', phase: 'finished', database: 'app_v1', source: { key: v1.key, versionId: v1.versionId } });
    expect(await pg.tableChecksums('app_v1')).toEqual(first);
    expect(await pg.psql('app_v1', "SELECT extname FROM pg_extension WHERE extname IN ('hstore', 'pgcrypto') ORDER BY 1")).toBe('hstore\npgcrypto\n');
    // The run's files and lock are gone; the target is free for the next backup.
    expect(existsSync(join(w.h.efsDir, 'pg', 'run.json'))).toBe(false);
  });

  it('restores a weekday (the current object) into a new database', async () => {
    const weekday = v2.key.split('/').at(-1)!.split('.')[0]!;
    const result = await w.untilDone({ action: 'restore', target: 'pg', backup: weekday, intoDatabase: 'app_weekday' });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(await pg.tableChecksums('app_weekday')).toEqual(second);
  });

  it.each([
    ['no database named', {}],
    ['the live database named', { intoDatabase: 'app' }],
  ])('refuses a restore into the live database without overwrite (%s) and touches nothing', async (_case, extra) => {
    const before = await pg.tableChecksums('app');
    const run = await w.run({ action: 'restore', target: 'pg', backup: 'latest', ...extra });
    expect(run.error?.message).toMatch(/refusing to restore into the live database "app" of target "pg"/);
    expect(existsSync(join(w.h.efsDir, 'pg', 'run.json'))).toBe(false);
    expect(await pg.tableChecksums('app')).toEqual(before);
  });

  it('fails, untouched, a restore into an existing non-empty database without overwrite', async () => {
    const before = await pg.tableChecksums('app_v1');
    const result = await w.untilDone({ action: 'restore', target: 'pg', backup: 'latest', intoDatabase: 'app_v1' });
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/step "prepare" exited with status 1.*already holds/);
    expect(await pg.tableChecksums('app_v1')).toEqual(before);
  });

  it('reports an unknown version id before taking the lock', async () => {
    const run = await w.run({ action: 'restore', target: 'pg', backup: { versionId: 'no-such-version' }, intoDatabase: 'app_x' });
    expect(run.error?.message).toMatch(/no backup object with version id no-such-version/);
    expect(await databases()).not.toContain('app_x');
  });

  it('retries a download that hit S3 errors in the next invocation, and finishes', async () => {
    let failures = 0;
    w.h.proxy.setRule((req) => (req.method === 'GET' && /\.pgdump\?/.test(req.url) && req.query.has('versionId') && failures++ < 3 ? { status: 500, code: 'InternalError' } : 'pass'));
    const runs: LambdaRun[] = [];
    try {
      const result = await w.untilDone({ action: 'restore', target: 'pg', backup: { versionId: v1.versionId }, intoDatabase: 'app_retried' }, runs);
      expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    } finally {
      w.h.proxy.setRule(() => 'pass');
    }
    const answers = runs.map((r) => (r.result as { result: { phase?: string; reason?: string } }).result);
    expect(answers[0]).toMatchObject({ phase: 'downloading', reason: expect.stringMatching(/^downloading s3:\/\/\S+ failed \(attempt 1 of 3\): /) });
    expect(await pg.tableChecksums('app_retried')).toEqual(first);
  });

  it.each([
    ['the bytes a killed invocation left', (good: Buffer) => good.subarray(0, 4096), 'left'],
    // Bytes are hashed as they arrive and the hash state recorded with them: bytes no invocation recorded are fetched
    // again, so wrong ones in their place cannot make a restore (before, they failed it at the final re-hash).
    ['wrong bytes in place of them', () => Buffer.alloc(4096), 'wrong'],
  ])('resumes a download across invocations past %s, fetching again what no invocation recorded', async (_case, partial, name) => {
    // A budget at the safety margin: the first invocation pins the object and pauses before the first byte.
    const paused = await w.run({ action: 'restore', target: 'pg', backup: { versionId: v1.versionId }, intoDatabase: `app_resumed_${name}` }, {}, 45_000);
    const started = (paused.result as { result: { outcome: string; phase: string; runId: string; progress: { bytesDownloaded: number } } }).result;
    expect(started).toMatchObject({ outcome: 'started', phase: 'downloading', progress: { bytesDownloaded: 0 } });
    const good = await w.getObjectVersion(v1.key, v1.versionId);
    await writeFile(join(w.h.efsDir, 'pg', started.runId, 'restore.pgdump.part'), partial(good));
    const result = await w.untilDone({ action: 'restore', target: 'pg', backup: { versionId: v1.versionId }, intoDatabase: `app_resumed_${name}`, runId: started.runId });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(await pg.tableChecksums(`app_resumed_${name}`)).toEqual(first);
  });

  it('downloads and starts the job once when two invocations carry a restore on at the same time', async () => {
    const request = { action: 'restore', target: 'pg', backup: { versionId: v1.versionId }, intoDatabase: 'app_twice' };
    const paused = await w.run(request, {}, 45_000);
    const runId = (paused.result as { result: { runId: string } }).result.runId;
    const both = await Promise.all([w.run({ ...request, runId }), w.run({ ...request, runId })]);
    const starts = both.flatMap((r) => r.logs).filter((l) => l.message === 'restore job started');
    expect(starts).toHaveLength(1);
    for (const r of both) expect(r.error, r.stderr).toBeNull();
    const result = await w.untilDone({ ...request, runId });
    expect(result.outcome).toBe('succeeded');
    expect(await pg.tableChecksums('app_twice')).toEqual(first);
  });

  it('is carried on by the hourly schedule, which starts no backup meanwhile', async () => {
    const slow = { FAST_PATH_SECONDS: '0' };
    const started = await w.run({ action: 'restore', target: 'pg', backup: 'latest', intoDatabase: 'app_hourly' }, slow);
    const first = (started.result as { result: { outcome: string; phase: string; runId: string } }).result;
    expect(first).toMatchObject({ outcome: 'started', phase: 'running' });
    let outcome: { kind?: string; outcome: string; runId?: string } = { outcome: 'none' };
    for (let i = 0; i < 60 && outcome.outcome !== 'succeeded' && outcome.outcome !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 300));
      const run = await w.run(SCHEDULED_EVENT, slow);
      outcome = (run.result as { results: typeof outcome[] }).results[0]!;
      expect(outcome).toMatchObject({ kind: 'restore', runId: first.runId });
    }
    expect(outcome.outcome).toBe('succeeded');
    expect(await pg.tableChecksums('app_hourly')).toEqual(second);
    // The restore's result stays readable by its run id.
    const polled = await w.run({ action: 'restore', target: 'pg', backup: 'latest', intoDatabase: 'app_hourly', runId: first.runId });
    expect((polled.result as { result: unknown }).result).toMatchObject({ outcome: 'succeeded', phase: 'finished', runId: first.runId });
  });

  it('replaces the live database with the latest backup when asked to overwrite', async () => {
    expect(await pg.tableChecksums('app')).not.toEqual(second);
    const result = await w.untilDone({ action: 'restore', target: 'pg', backup: 'latest', overwrite: true });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(await pg.tableChecksums('app')).toEqual(second);
  });
});

describe('the restore CLI', () => {
  it('lists every kept version of the backups, newest first, marking the one "latest" restores', async () => {
    const { code, stdout, stderr } = await w.cli(['--target', 'pg', '--list']);
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WEEKDAY\s+SIZE\s+UPLOADED\s+VERSION ID/);
    expect(lines[1]).toContain(v2.versionId);
    expect(lines[1]).toMatch(/current, latest$/);
    expect(lines[2]).toContain(v1.versionId);
    expect(lines[2]).toMatch(/older$/);
  });

  it.each([
    ['without --overwrite', ['--backup', 'latest'], 2, /error: restoring into the live database "app" of target "pg" would replace its data/],
    ['with --into the live name', ['--into', 'app'], 2, /error: restoring into the live database "app"/],
    ['with --overwrite but no terminal to confirm on', ['--overwrite'], 1, /error: refusing to overwrite "app" without a confirmation: no terminal/],
  ])('never touches the live database %s', async (_case, args, exitCode, message) => {
    const before = await pg.tableChecksums('app');
    const invocations = w.lambda.invocations.length;
    const { code, stderr } = await w.cli(['--target', 'pg', ...args]);
    expect(code, stderr).toBe(exitCode);
    expect(stderr).toMatch(message);
    expect(w.lambda.invocations.length).toBe(invocations);
    expect(await pg.tableChecksums('app')).toEqual(before);
  });

  it.each([
    ['the typed database name', 'app', 0],
    ['a wrong name', 'ap', 1],
  ])('asks on a terminal before overwriting, and goes ahead only with %s', async (_case, typed, exitCode) => {
    await pg.psql('app', "UPDATE public.items SET name = 'typed' WHERE id = 1");
    const before = await pg.tableChecksums('app');
    const { code, output } = await w.cliOnTerminal(['--target', 'pg', '--backup', 'latest', '--overwrite'], typed);
    expect(output).toContain('This replaces the data of "app" (target "pg"). Type app to confirm: ');
    expect(code, output).toBe(exitCode);
    if (exitCode === 0) {
      expect(output).toMatch(/^restored backups\/pg\/\w+\.pgdump \(version [^)\s]+\) into app/m);
      expect(await pg.tableChecksums('app')).toEqual(second);
    } else {
      expect(output).toMatch(/error: the confirmation "ap" does not match "app"; nothing was restored/);
      expect(await pg.tableChecksums('app')).toEqual(before);
    }
  });

  // S3 version ids are not word characters only (moto's, like S3's, have '.' and '_' too).
  it('restores a version id into another database through the Lambda and shows progress', async () => {
    const { code, stdout, stderr } = await w.cli(['--target', 'pg', '--version-id', v1.versionId, '--into', 'app_cli']);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/^restore \S+ of backups\/pg\/\w+\.pgdump \(version [^)\s]+\) into app_cli$/m);
    expect(stdout).toMatch(/^restored backups\/pg\/\w+\.pgdump \(version [^)\s]+\) into app_cli \(run \S+\)$/m);
    expect(await pg.tableChecksums('app_cli')).toEqual(first);
    expect(w.lambda.invocations.at(-1)?.event).toMatchObject({ action: 'restore', target: 'pg', backup: { versionId: v1.versionId }, intoDatabase: 'app_cli', overwrite: false });
  });

  it('overwrites the live database with --overwrite --yes', async () => {
    await pg.psql('app', "UPDATE public.items SET name = 'again' WHERE id = 1");
    const { code, stderr } = await w.cli(['--target', 'pg', '--backup', 'latest', '--overwrite', '--yes']);
    expect(code, stderr).toBe(0);
    expect(await pg.tableChecksums('app')).toEqual(second);
  });

  it('says what is wrong with the command line (exit 2)', async () => {
    const { code, stderr } = await w.cli(['--target', 'pg', '--backup', 'someday']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: --backup must be a weekday/m);
  });
});
