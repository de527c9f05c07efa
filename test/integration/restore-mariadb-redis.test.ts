import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { containerEnv } from '../helpers/orchestrator-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Restores and drills of MariaDB and Redis through the built orchestrator and real servers: back up,
 * change the data, restore, and get back exactly the backed-up content (per-table checksums for
 * MariaDB; for Redis the RDB is staged where the server loads it, and a fresh redis-server started on
 * the staged file has the backed-up DEBUG DIGEST). Drills of both pass on good backups.
 */

let w: RestoreHarness;
let maria: MariadbServer;
let redis: RedisServer;
let shopSums: Record<string, string>;
let redisDigest: string;

const SHOP = { name: 'shop', engine: 'mariadb', service: 'mariadb', container: 'mariadb', database: 'shop', user: 'backup', passwordEnv: 'DB_PASSWORD', drill: { schedule: '0 3 * * 0' } };
const CACHE = { name: 'cache', engine: 'redis', service: 'redis', container: 'redis', passwordEnv: 'REDIS_PASSWORD', drill: { schedule: '0 3 * * 0' } };

beforeAll(async () => {
  [w, maria, redis] = await startAll([startRestoreHarness(), startMariadb(), startRedis({ password: 'redis-secret' })]);
  await maria.sql('', 'CREATE DATABASE shop CHARACTER SET utf8mb4');
  await maria.sql(
    'shop',
    `CREATE TABLE orders (id INT PRIMARY KEY, what VARCHAR(40), price DECIMAL(8,2), note TEXT) DEFAULT CHARSET=utf8mb4;
     INSERT INTO orders VALUES (1, 'tea', 3.50, 'grün ☃'), (2, 'café', 2.20, NULL), (3, '日本茶', 9.99, 'line\\nbreak');
     CREATE TABLE \`Größe ✓\` (n INT, b BLOB); INSERT INTO \`Größe ✓\` VALUES (1, X'00FF10'), (2, NULL);
     CREATE TABLE big (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64));
     INSERT INTO big (v) SELECT MD5(seq) FROM seq_1_to_5000;`,
  );
  for (let i = 0; i < 300; i++) await redis.cli('SET', `key:${i}`, `value ${i} ü`);
  await redis.cli('HSET', 'hash', 'a', '1', 'b', '2');
  await redis.cli('RPUSH', 'list', 'x', 'y', 'z');
  w.h.addService('mariadb', { env: containerEnv({ DB_PASSWORD: maria.password }) });
  w.h.addService('redis', { env: containerEnv({ REDIS_PASSWORD: 'redis-secret' }), shell: 'busybox' });
  w.h.setTargets([
    { ...SHOP, port: maria.port },
    { ...CACHE, port: redis.port },
  ]);
  await w.backup('shop');
  await w.backup('cache');
  shopSums = await maria.tableChecksums('shop');
  redisDigest = await redis.debugDigest();
  await maria.sql('shop', "UPDATE orders SET price = 0; DELETE FROM big WHERE id > 100; INSERT INTO `Größe ✓` VALUES (3, NULL);");
  await redis.cli('FLUSHALL');
  await redis.cli('SET', 'after', 'the backup');
}, 240_000);

afterAll(async () => {
  await Promise.all([w?.stop(), maria?.stop(), redis?.stop()]);
});

describe('restoring MariaDB', () => {
  it('restores into a new database, exactly', async () => {
    const result = await w.untilDone({ action: 'restore', target: 'shop', backup: 'latest', intoDatabase: 'shop_restored' });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(await maria.tableChecksums('shop_restored')).toEqual(shopSums);
  });

  it('replaces the live database when asked to overwrite', async () => {
    expect(await maria.tableChecksums('shop')).not.toEqual(shopSums);
    const result = await w.untilDone({ action: 'restore', target: 'shop', backup: 'latest', overwrite: true });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(await maria.tableChecksums('shop')).toEqual(shopSums);
  });

  it('passes a drill and drops its scratch database', async () => {
    const runs: LambdaRun[] = [];
    const result = await w.untilDone({ action: 'drill', target: 'shop' }, runs);
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'succeeded', database: 'shop_drill', note: expect.stringMatching(/content matches \(rows of 3 tables, row digests of 3 tables, charset and collation, restored = archive = dump time\)/) });
    expect(runs.reduce((n, r) => n + metricSum(r, 'RestoreDrillSuccess', 'shop'), 0)).toBe(1);
    expect(await maria.sql('', "SHOW DATABASES LIKE 'shop_drill'")).toBe('');
    expect(await maria.tableChecksums('shop')).toEqual(shopSums);
  });
});

describe('restoring Redis', () => {
  it('stages a copy beside the live file without overwrite, touching nothing live', async () => {
    const live = await redis.debugDigest();
    const result = await w.untilDone({ action: 'restore', target: 'cache', backup: 'latest' });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(result.note).toMatch(/Staged the backup as .*dump\.rdb\.restored; the live file .*dump\.rdb is untouched/);
    expect(existsSync(join(redis.dir, 'dump.rdb.restored'))).toBe(true);
    expect(await redis.debugDigest()).toBe(live);
  });

  it('stages the RDB where the server loads it, says what remains, and a server started on it has the backed-up data', async () => {
    const result = await w.untilDone({ action: 'restore', target: 'cache', backup: 'latest', overwrite: true });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(result.note).toMatch(/Staged the backup as .*dump\.rdb .*SHUTDOWN NOSAVE/);
    // What the note asks the operator to do: restart Redis on the staged file without saving.
    const dir = mkdtempSync(join(tmpdir(), 'redis-restarted-'));
    try {
      copyFileSync(join(redis.dir, 'dump.rdb'), join(dir, 'dump.rdb'));
      const restarted = await startRedis({ dir });
      try {
        expect(await restarted.debugDigest()).toBe(redisDigest);
      } finally {
        await restarted.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readFileSync(join(redis.dir, 'dump.rdb')).subarray(0, 5).toString()).toBe('REDIS');
  });

  it('refuses a restore into a named database', async () => {
    const run = await w.run({ action: 'restore', target: 'cache', backup: 'latest', intoDatabase: 'other', overwrite: true });
    expect(run.error?.message).toMatch(/redis restore replaces the whole dataset; intoDatabase is not supported/);
  });

  it('passes a drill in a throwaway server', async () => {
    const runs: LambdaRun[] = [];
    const live = await redis.debugDigest();
    const result = await w.untilDone({ action: 'drill', target: 'cache' }, runs);
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'succeeded', note: expect.stringMatching(/counts match the manifest \(1 compared\)/) });
    expect(runs.reduce((n, r) => n + metricSum(r, 'RestoreDrillSuccess', 'cache'), 0)).toBe(1);
    expect(await redis.debugDigest()).toBe(live);
  });
});
