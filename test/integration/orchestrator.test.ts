import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weekdayOf } from '../../functions/shared/core/s3-keys.js';
import { metricSum } from '../helpers/lambda-runner.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { containerEnv, KEY_PREFIX, readRunJson, SCHEDULED_EVENT, startHarness, type Harness } from '../helpers/orchestrator-harness.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startAll } from '../helpers/start-all.js';

/**
 * The orchestrator bundle against real PostgreSQL 15, Redis 7 and MariaDB servers, the ECS/agent
 * stand-in and moto's S3: a scheduled invocation starts each dump, a later one uploads it, and the
 * object restores into a fresh server with identical content.
 */

let h: Harness;
let pg: PostgresServer;
let redis: RedisServer;
let maria: MariadbServer;

beforeAll(async () => {
  [h, pg, redis, maria] = await startAll([startHarness(), startPostgres(), startRedis({ password: 'redis-secret' }), startMariadb()]);
  await pg.createDatabase('app');
  await pg.psql(
    'app',
    `CREATE TABLE items (id int PRIMARY KEY, name text, doc jsonb);
     INSERT INTO items SELECT g, 'item ' || g || ' ü', jsonb_build_object('n', g) FROM generate_series(1, 2000) g;
     CREATE SCHEMA "Ärger"; CREATE TABLE "Ärger"."t 1" (v text); INSERT INTO "Ärger"."t 1" VALUES ('ß'), ('☃');`,
  );
  for (let i = 0; i < 200; i++) await redis.cli('SET', `key:${i}`, `value ${i}`);
  await redis.cli('HSET', 'hash', 'a', '1', 'b', '2');
  await maria.sql('', 'CREATE DATABASE shop');
  await maria.sql('shop', "CREATE TABLE orders (id INT PRIMARY KEY, what VARCHAR(40)); INSERT INTO orders VALUES (1, 'tea'), (2, 'café');");
  h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  h.addService('redis', { env: containerEnv({ REDIS_PASSWORD: 'redis-secret' }), shell: 'busybox' });
  h.addService('mariadb', { env: containerEnv({ DB_PASSWORD: maria.password }) });
  h.setTargets([
    { name: 'pg', engine: 'postgres', service: 'postgres', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port },
    { name: 'cache', engine: 'redis', service: 'redis', container: 'redis', passwordEnv: 'REDIS_PASSWORD', port: redis.port },
    { name: 'shop', engine: 'mariadb', service: 'mariadb', container: 'mariadb', database: 'shop', user: 'backup', passwordEnv: 'DB_PASSWORD', port: maria.port },
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([h?.stop(), pg?.stop(), redis?.stop(), maria?.stop()]);
});

describe('scheduled invocations', () => {
  it('start every due dump, then upload each to its weekday key with a manifest', async () => {
    const first = await h.run(SCHEDULED_EVENT);
    expect(first.error).toBeNull();
    const outcomes = (first.result as { results: { target: string; outcome: string }[] }).results;
    expect(Object.fromEntries(outcomes.map((o) => [o.target, o.outcome])), JSON.stringify(outcomes)).toEqual({ pg: 'started', cache: 'started', shop: 'started' });
    const runs = await Promise.all(['pg', 'cache', 'shop'].map((t) => readRunJson(h.efsDir, t)));
    expect(runs.map((r) => r?.phase)).toEqual(['running', 'running', 'running']);

    // Later invocations: each target uploads as soon as its marker is there, the others keep waiting.
    const finished = new Map<string, { outcome: string; key?: string }>();
    const later = [];
    for (let i = 0; i < 30 && finished.size < 3; i++) {
      const run = await h.run(SCHEDULED_EVENT);
      later.push(run);
      for (const r of (run.result as { results: { target: string; outcome: string; key?: string }[] }).results) {
        if (r.outcome !== 'waiting' && !finished.has(r.target)) finished.set(r.target, r);
      }
      if (finished.size < 3) await new Promise((r) => setTimeout(r, 300));
    }
    const weekday = weekdayOf(new Date(String(runs[0]!.startedAt)), 'UTC');
    expect(Object.fromEntries(finished)).toEqual({
      pg: { target: 'pg', outcome: 'succeeded', runId: runs[0]!.runId, key: `${KEY_PREFIX}pg/${weekday}.pgdump` },
      cache: { target: 'cache', outcome: 'succeeded', runId: runs[1]!.runId, key: `${KEY_PREFIX}cache/${weekday}.rdb` },
      shop: { target: 'shop', outcome: 'succeeded', runId: runs[2]!.runId, key: `${KEY_PREFIX}shop/${weekday}.sql.gz` },
    });
    for (const t of ['pg', 'cache', 'shop']) {
      expect(later.reduce((n, run) => n + metricSum(run, 'BackupSuccess', t), 0)).toBe(1);
      expect(later.reduce((n, run) => n + metricSum(run, 'BackupFailure', t), 0)).toBe(0);
      expect(later.reduce((n, run) => n + metricSum(run, 'BackupBytes', t), 0)).toBeGreaterThan(0);
      for (const name of ['DumpSeconds', 'UploadSeconds']) {
        expect(later.some((run) => run.metrics.some((m) => m.target === t && typeof m[name] === 'number')), `${name} of ${t}`).toBe(true);
      }
      expect(await readRunJson(h.efsDir, t)).toBeNull();
    }
    const manifest = JSON.parse((await h.getObject(`${KEY_PREFIX}pg/${weekday}.json`))!.toString()) as Record<string, unknown>;
    expect(manifest).toMatchObject({ target: 'pg', engine: 'postgres', key: `${KEY_PREFIX}pg/${weekday}.pgdump` });
    // secrets never reach the manifests (nor the markers they are made from)
    for (const [t, secret] of [['pg', pg.password], ['cache', 'redis-secret'], ['shop', maria.password]] as const) {
      expect((await h.getObject(`${KEY_PREFIX}${t}/${weekday}.json`))!.toString()).not.toContain(secret);
    }

    const idle = await h.run(SCHEDULED_EVENT);
    expect((idle.result as { results: { outcome: string; reason: string }[] }).results.map((r) => [r.outcome, r.reason])).toEqual([
      ['idle', 'done'],
      ['idle', 'done'],
      ['idle', 'done'],
    ]);
  });

  it('leaves objects that restore into fresh servers with identical content', async () => {
    const weekday = weekdayOf(new Date(), 'UTC');
    const scratch = mkdtempSync(join(tmpdir(), 'restore-'));
    try {
      const pgDump = (await h.getObject(`${KEY_PREFIX}pg/${weekday}.pgdump`))!;
      writeFileSync(join(scratch, 'pg.pgdump'), pgDump);
      await pg.createDatabase('restored');
      execFileSync(`${PG_BIN}/pg_restore`, ['-d', 'restored', join(scratch, 'pg.pgdump')], { env: pg.env });
      expect(await pg.tableChecksums('restored')).toEqual(await pg.tableChecksums('app'));

      const rdbDir = mkdtempSync(join(tmpdir(), 'redis-restore-'));
      writeFileSync(join(rdbDir, 'dump.rdb'), (await h.getObject(`${KEY_PREFIX}cache/${weekday}.rdb`))!);
      const fresh = await startRedis({ dir: rdbDir });
      try {
        expect(await fresh.debugDigest()).toBe(await redis.debugDigest());
      } finally {
        await fresh.stop();
        rmSync(rdbDir, { recursive: true, force: true });
      }

      const sqlGz = (await h.getObject(`${KEY_PREFIX}shop/${weekday}.sql.gz`))!;
      await maria.sql('', 'CREATE DATABASE shop_restored');
      const sqlText = execFileSync('gunzip', ['-c'], { input: sqlGz }).toString();
      await maria.sql('shop_restored', sqlText);
      expect(await maria.tableChecksums('shop_restored')).toEqual(await maria.tableChecksums('shop'));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('a manual event with the fast path on', () => {
  it('dumps and uploads in one invocation, whatever the schedule says', async () => {
    const run = await h.run({ action: 'backup', target: 'pg' }, { env: { FAST_PATH_SECONDS: '60' } });
    expect(run.error).toBeNull();
    const [outcome] = (run.result as { results: { target: string; outcome: string; key?: string }[] }).results;
    expect(outcome).toMatchObject({ target: 'pg', outcome: 'succeeded' });
    expect(metricSum(run, 'BackupSuccess', 'pg')).toBe(1);
  });
});
