import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { containerEnv } from '../helpers/orchestrator-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Redis drills through the built orchestrator and a real Redis 7, with data in databases 0, 3 and 15 and volatile keys
 * of which some expire between the backup and the drill: the drill passes (persistent keys exactly, volatile keys
 * within what expired), says what it compared, and fails naming the database when the manifest says otherwise.
 */

let w: RestoreHarness;
let redis: RedisServer;
let s3: S3Client;
let backup: { key: string; versionId: string };
let manifest: Record<string, unknown>;

const CACHE = { name: 'cache', engine: 'redis', service: 'redis', container: 'redis', passwordEnv: 'REDIS_PASSWORD', drill: { schedule: '0 3 * * 0' } };
// Long enough to be in the backup however slow the machine is today, short enough to be gone before the drill.
const SHORT_MS = 15_000;

beforeAll(async () => {
  [w, redis] = await startAll([startRestoreHarness(), startRedis({ password: 'redis-secret' })]);
  for (let i = 0; i < 50; i++) await redis.cli('SET', `key:${i}`, `value ${i} ü`);
  for (let i = 0; i < 5; i++) await redis.cli('SET', `session:long:${i}`, 'x', 'EX', '3600');
  await redis.cli('-n', '3', 'DEBUG', 'POPULATE', '20', 'db3');
  await redis.cli('-n', '15', 'HSET', 'hash', 'a', '1');
  await redis.cli('-n', '15', 'RPUSH', 'list', 'x', 'y');
  const shortUntil = Date.now() + SHORT_MS;
  for (let i = 0; i < 4; i++) await redis.cli('SET', `session:short:${i}`, 'x', 'PXAT', String(shortUntil));
  for (let i = 0; i < 3; i++) await redis.cli('-n', '3', 'SET', `short:${i}`, 'x', 'PXAT', String(shortUntil));
  for (let i = 0; i < 2; i++) await redis.cli('-n', '15', 'SET', `short:${i}`, 'x', 'PXAT', String(shortUntil));
  w.h.addService('redis', { env: containerEnv({ REDIS_PASSWORD: 'redis-secret' }), shell: 'busybox' });
  w.h.setTargets([{ ...CACHE, port: redis.port }]);
  backup = await w.backup('cache');
  manifest = JSON.parse((await w.h.getObject(backup.key.replace(/\.rdb$/, '.json')))!.toString()) as Record<string, unknown>;
  s3 = w.h.s3.newClient();
  await new Promise((r) => setTimeout(r, Math.max(0, shortUntil - Date.now() + 100)));
}, 240_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([w?.stop(), redis?.stop()]);
});

/** Replaces the manifest of the backup (the object stays). */
async function replaceManifest(changes: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify({ ...manifest, uploadedAt: new Date().toISOString(), ...changes });
  await s3.send(new PutObjectCommand({ Bucket: w.h.s3.bucket, Key: backup.key.replace(/\.rdb$/, '.json'), Body: body }));
}

describe('a Redis drill', () => {
  it('records persistent and volatile keys per logical database in the manifest', () => {
    expect(manifest.counts).toEqual({
      keys: 86,
      redis: {
        persistent: 72,
        volatile: 14,
        databases: { 0: { persistent: 50, volatile: 9 }, 3: { persistent: 20, volatile: 3 }, 15: { persistent: 2, volatile: 2 } },
        expiredAtCheck: 0,
      },
    });
  });

  it('passes after volatile keys expired between the backup and the drill, and says what it compared', async () => {
    expect(await redis.cli('EXISTS', 'session:short:0')).toBe('0');
    const runs: LambdaRun[] = [];
    const result = await w.untilDone({ action: 'drill', target: 'cache' }, runs);

    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'succeeded' });
    expect(result.note).toBe(
      'restored counts match the manifest (3 compared): Redis (databases 0, 3, 15): 72 of 72 persistent keys and 5 of 14 volatile keys loaded, ' +
        "exactly 5 allowed (9 of the file's keys were past their expiry before the load, 9 after the count): as expected",
    );
    expect(runs.reduce((n, r) => n + metricSum(r, 'RestoreDrillSuccess', 'cache'), 0)).toBe(1);
  });

  it('fails naming the database when a persistent key of the manifest is not restored', async () => {
    const counts = manifest.counts as { redis: { persistent: number; databases: Record<string, { persistent: number; volatile: number }> } };
    const tampered = { ...counts, redis: { ...counts.redis, persistent: 73, databases: { ...counts.redis.databases, 15: { persistent: 3, volatile: 2 } } } };
    await replaceManifest({ counts: tampered });
    try {
      const runs: LambdaRun[] = [];
      const result = await w.untilDone({ action: 'drill', target: 'cache' }, runs);

      expect(result.outcome).toBe('failed');
      expect(result.problems).toEqual(['73 persistent keys at dump time, 72 restored', 'database 15: 3 persistent keys at dump time, 2 restored']);
      expect(runs.reduce((n, r) => n + metricSum(r, 'RestoreDrillFailure', 'cache'), 0)).toBe(1);
    } finally {
      await replaceManifest({});
    }
  });
});
