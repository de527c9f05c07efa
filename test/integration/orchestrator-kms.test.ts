import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weekdayOf } from '../../functions/shared/core/s3-keys.js';
import { metricSum } from '../helpers/lambda-runner.js';
import { startMotoKms, type MotoKms } from '../helpers/moto-kms.js';
import { containerEnv, KEY_PREFIX, SCHEDULED_EVENT, startHarness, type Harness } from '../helpers/orchestrator-harness.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startAll } from '../helpers/start-all.js';

/**
 * The backup workflow on a cluster whose ECS Exec sessions are KMS-encrypted: the orchestrator bundle (in
 * its own process) makes each session's data key with moto's KMS, the stand-in agent decrypts it there, and
 * real PostgreSQL 15 and Redis 7 dumps reach S3 and restore with identical content.
 */

let moto: MotoKms;
let h: Harness;
let pg: PostgresServer;
let redis: RedisServer;

beforeAll(async () => {
  moto = await startMotoKms();
  const key = await moto.createKey();
  [h, pg, redis] = await startAll([startHarness({ kms: { keyArn: key.arn, endpoint: moto.endpoint, agent: moto.client() } }), startPostgres(), startRedis({ password: 'redis-secret' })]);
  await pg.createDatabase('app');
  await pg.psql('app', `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g || ' ü' FROM generate_series(1, 500) g;`);
  for (let i = 0; i < 50; i++) await redis.cli('SET', `key:${i}`, `value ${i}`);
  h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  h.addService('redis', { env: containerEnv({ REDIS_PASSWORD: 'redis-secret' }), shell: 'busybox' });
  h.setTargets([
    { name: 'pg', engine: 'postgres', service: 'postgres', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port },
    { name: 'cache', engine: 'redis', service: 'redis', container: 'redis', passwordEnv: 'REDIS_PASSWORD', port: redis.port },
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([h?.stop(), pg?.stop(), redis?.stop()]);
  await moto?.stop();
});

describe('backups on a KMS-encrypted ECS Exec cluster', () => {
  it('start, upload and restore PostgreSQL and Redis, every session through the KMS handshake', async () => {
    const before = moto.operations.length;
    const first = await h.run(SCHEDULED_EVENT);
    expect(first.error).toBeNull();
    expect((first.result as { results: { target: string; outcome: string }[] }).results.map((r) => [r.target, r.outcome])).toEqual([
      ['pg', 'started'],
      ['cache', 'started'],
    ]);
    const finished = new Map<string, string>();
    for (let i = 0; i < 30 && finished.size < 2; i++) {
      const run = await h.run(SCHEDULED_EVENT);
      for (const r of (run.result as { results: { target: string; outcome: string }[] }).results) {
        // A target that finished first reports 'idle' (not due) while the other still runs: keep its outcome.
        if (r.outcome !== 'waiting' && !finished.has(r.target)) finished.set(r.target, r.outcome);
        if (r.outcome === 'succeeded') expect(metricSum(run, 'BackupSuccess', r.target)).toBe(1);
      }
      if (finished.size < 2) await new Promise((r) => setTimeout(r, 300));
    }
    expect(Object.fromEntries(finished)).toEqual({ pg: 'succeeded', cache: 'succeeded' });
    // Every session the Lambda opened made its data key, and the agent decrypted each one.
    const calls = moto.operations.slice(before);
    expect(calls.filter((op) => op === 'GenerateDataKey').length).toBeGreaterThanOrEqual(2);
    expect(calls.filter((op) => op === 'Decrypt').length).toBe(calls.filter((op) => op === 'GenerateDataKey').length);
    expect(h.standin.activeSessions()).toBe(0);

    const weekday = weekdayOf(new Date(), 'UTC');
    const scratch = mkdtempSync(join(tmpdir(), 'kms-restore-'));
    try {
      writeFileSync(join(scratch, 'pg.pgdump'), (await h.getObject(`${KEY_PREFIX}pg/${weekday}.pgdump`))!);
      await pg.createDatabase('restored');
      execFileSync(`${PG_BIN}/pg_restore`, ['-d', 'restored', join(scratch, 'pg.pgdump')], { env: pg.env });
      expect(await pg.tableChecksums('restored')).toEqual(await pg.tableChecksums('app'));
      writeFileSync(join(scratch, 'dump.rdb'), (await h.getObject(`${KEY_PREFIX}cache/${weekday}.rdb`))!);
      const fresh = await startRedis({ dir: scratch });
      try {
        expect(await fresh.debugDigest()).toBe(await redis.debugDigest());
      } finally {
        await fresh.stop();
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
