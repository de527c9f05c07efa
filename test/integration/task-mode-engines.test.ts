import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { startMotoS3, type MotoS3 } from '../helpers/moto.js';
import { containerEnv, SCHEDULED_EVENT, type Harness } from '../helpers/orchestrator-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startRunnerHarness, type RunnerHarness } from '../helpers/runner-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Mode "task" for MariaDB and Redis (real servers over loopback, as the "managed" databases) and MongoDB (the fake
 * tools of test/helpers/fake-mongo): one hourly invocation starts the three runner tasks, the backups upload with their
 * credentials from moto's Secrets Manager, and each comes back: MariaDB through the product's restore (identical
 * table checksums), Redis as the RDB a fresh redis-server loads (identical DEBUG DIGEST), MongoDB through the
 * product's restore into another database (the fake mongorestore's arguments).
 */

const FAKE_MONGO = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-mongo');
const REDIS_PASSWORD = 'redis "pw" \\ ü';
const MONGO_PASSWORD = "mongo-'pw'";
const TASK = { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] };

let moto: MotoS3;
let h: Harness<MotoS3>;
let maria: MariadbServer;
let redis: RedisServer;
let runner: RunnerHarness;
let scratch: string;
let mongoLog: string;
const runs: LambdaRun[] = [];
const keys = new Map<string, string>();

const secret = (name: string, fields: Record<string, unknown>) => runner.secret(name, fields);

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'task-engines-'));
  mongoLog = join(scratch, 'mongo-calls.log');
  writeFileSync(mongoLog, '');
  [moto, maria, redis] = await startAll([startMotoS3(), startMariadb(), startRedis({ password: REDIS_PASSWORD })]);
  runner = await startRunnerHarness(moto, {
    'mariadb:11': { env: containerEnv() },
    'redis:7': { env: containerEnv(), shell: 'busybox' },
    'mongo:7': { env: containerEnv({ FAKE_MONGO_LOG: mongoLog, FAKE_MONGO_DATA: 'app.users:3 app.orders:5' }, FAKE_MONGO) },
  });
  h = runner.h;
  await maria.sql('', 'CREATE DATABASE shop CHARACTER SET utf8mb4');
  await maria.sql(
    'shop',
    `CREATE TABLE orders (id INT PRIMARY KEY, what VARCHAR(40), note TEXT) DEFAULT CHARSET=utf8mb4;
     INSERT INTO orders VALUES (1, 'tea', 'grün ☃'), (2, 'café', NULL), (3, '日本茶', 'line\\nbreak');
     CREATE TABLE \`Größe ✓\` (n INT, b BLOB); INSERT INTO \`Größe ✓\` VALUES (1, X'00FF10'), (2, NULL);`,
  );
  for (let i = 0; i < 200; i++) await redis.cli('SET', `key:${i}`, `value ${i} ü`);
  await redis.cli('HSET', 'hash', 'a', '1', 'b', '2');
  const targets = h.setTargets([
    { name: 'shop', engine: 'mariadb', mode: 'task', database: 'shop', task: TASK,
      secretArn: await secret('db/shop', { engine: 'mariadb', host: '127.0.0.1', port: maria.port, username: maria.user, password: maria.password, dbname: 'shop' }) },
    { name: 'cache', engine: 'redis', mode: 'task', task: TASK,
      secretArn: await secret('db/cache', { engine: 'redis', host: '127.0.0.1', port: redis.port, username: 'default', password: REDIS_PASSWORD }) },
    { name: 'docs', engine: 'mongodb', mode: 'task', database: 'app', task: TASK,
      secretArn: await secret('db/docs', { engine: 'docdb', host: '127.0.0.1', port: 27017, username: 'root', password: MONGO_PASSWORD, dbname: 'app' }) },
  ]);
  for (const t of targets) await h.registerRunner(t);
}, 180_000);

afterAll(async () => {
  await Promise.all([runner?.stop(), maria?.stop(), redis?.stop()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

type Outcome = { target: string; outcome: string; key?: string; reason?: string };

describe('mode task, MariaDB, Redis and MongoDB', () => {
  it('backs the three up through their runner tasks from one hourly invocation', async () => {
    for (let i = 0; i < 20 && keys.size < 3; i++) {
      const run = await h.run(SCHEDULED_EVENT);
      runs.push(run);
      expect(run.error).toBeNull();
      for (const r of (run.result as { results: Outcome[] }).results) {
        expect(r.outcome, JSON.stringify(r)).not.toBe('failed');
        if (r.outcome === 'succeeded') keys.set(r.target, r.key!);
      }
    }
    expect([...keys.keys()].sort()).toEqual(['cache', 'docs', 'shop']);
    for (const t of ['cache', 'docs', 'shop']) expect(runs.reduce((n, r) => n + metricSum(r, 'BackupSuccess', t), 0)).toBe(1);
    expect(h.standin.calls.filter((c) => c.operation === 'RunTask')).toHaveLength(3);
    for (const run of runs) {
      for (const pw of [maria.password, REDIS_PASSWORD, MONGO_PASSWORD]) expect(run.stdout + run.stderr).not.toContain(pw);
    }
    // The fake mongodump got the password ECS put into the task from the secret, through its private config file.
    expect(readFileSync(`${mongoLog}.password`, 'utf8')).toBe(MONGO_PASSWORD);
  }, 150_000);

  it('restores MariaDB with the product into a new database, exactly', async () => {
    const before = await maria.tableChecksums('shop');
    const result = await untilDone({ action: 'restore', target: 'shop', backup: 'latest', intoDatabase: 'shop_restored' });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(await maria.tableChecksums('shop_restored')).toEqual(before);
  }, 120_000);

  it('leaves a Redis RDB that a fresh server loads with the same content, and refuses a product restore it cannot do', async () => {
    const digest = await redis.debugDigest();
    const dir = mkdtempSync(join(scratch, 'redis-restored-'));
    writeFileSync(join(dir, 'dump.rdb'), (await h.getObject(keys.get('cache')!))!);
    const restored = await startRedis({ dir });
    try {
      expect(await restored.debugDigest()).toBe(digest);
    } finally {
      await restored.stop();
    }
    const run = await h.run({ action: 'restore', target: 'cache', backup: 'latest', overwrite: true });
    expect(run.error?.message).toMatch(/a Redis restore stages the RDB where the server loads it, which a runner task cannot reach/);
  }, 60_000);

  it('restores MongoDB with the product into another database (fake tools)', async () => {
    const result = await untilDone({ action: 'restore', target: 'docs', backup: 'latest', intoDatabase: 'app_copy' });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    const calls = existsSync(mongoLog) ? readFileSync(mongoLog, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\x1f')) : [];
    const restore = calls.find((c) => c[0] === 'mongorestore' && !c.includes('--dryRun'));
    expect(restore).toEqual(expect.arrayContaining(['--host=127.0.0.1', '--username=root', '--nsFrom=app.*', '--nsTo=app_copy.*']));
    expect(restore?.some((a) => a.includes(MONGO_PASSWORD))).toBe(false);
  }, 120_000);
});

/** Invokes a restore until it has ended. */
async function untilDone(event: Record<string, unknown>): Promise<{ outcome: string; reason?: string }> {
  let result: { outcome: string; reason?: string; runId?: string } | undefined;
  for (let i = 0; i < 40; i++) {
    const run = await h.run(result?.runId ? { ...event, runId: result.runId } : event);
    expect(run.error, JSON.stringify(run.error)).toBeNull();
    result = (run.result as { result: typeof result }).result!;
    if (['succeeded', 'failed'].includes(result.outcome)) return result;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the restore did not end: ${JSON.stringify(result)}`);
}
