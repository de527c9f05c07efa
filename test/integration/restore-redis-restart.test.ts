import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EcsApiError } from '../../scripts/standin/index.js';
import { containerEnv, waitFor } from '../helpers/orchestrator-harness.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * A Redis restore with `allowServiceRestart`: the orchestrator stages the RDB, then asks ECS for a forced new
 * deployment (UpdateService). The ECS stand-in's hook plays ECS replacing the task: it stops redis-server the way
 * ECS stops a container (SIGTERM) and starts a new one on the same dir, file and port. The server has save points,
 * as a production one would; SIGTERM saves only when they are set, so the new server gets the backed-up data only
 * if the restore job turned saves off. When the restart fails, the note says how to restart by hand, and doing
 * exactly that brings the backed-up data back.
 */

const PASSWORD = 'redis-secret';
/** Automatic saves, as a production server has them (startRedis turns them off; a later --save wins). */
const SAVE_POINTS = ['--save', '3600 1'];
const CACHE = { name: 'cache', engine: 'redis', service: 'redis', container: 'redis', passwordEnv: 'REDIS_PASSWORD', allowServiceRestart: true };
const ACCESS_DENIED =
  'User: arn:aws:sts::123456789012:assumed-role/ecs-db-backup-orchestrator/ecs-db-backup-orchestrator is not authorized to perform: ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/db/redis because no identity-based policy allows the ecs:UpdateService action';

let w: RestoreHarness;
let redis: RedisServer;
let dir: string;
let backupDigest: string;
/** Every task replacement the stand-in was asked for. */
const replaced: { cluster: string; service: string }[] = [];
/** When set, the replacement fails with this error (as ECS would answer UpdateService). */
let refuseWith: EcsApiError | undefined;

/** Waits until the server's process has exited (and been reaped). */
async function exited(pid: number): Promise<void> {
  await waitFor(`redis-server ${pid} to exit`, async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 30_000);
}

/** Starts redis-server on the same dir, file and port, as the replacement task would. */
async function startReplacement(): Promise<void> {
  await redis.stop();
  redis = await startRedis({ dir, port: redis.port, password: PASSWORD, extraArgs: SAVE_POINTS });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'redis-restart-'));
  [w, redis] = await startAll([startRestoreHarness(), startRedis({ dir, password: PASSWORD, extraArgs: SAVE_POINTS })]);
  w.h.standin.setForceNewDeploymentHook(async (cluster, service) => {
    if (refuseWith) throw refuseWith;
    replaced.push({ cluster, service });
    // ECS stops the old task's container with SIGTERM; Redis saves on SIGTERM only if save points are set.
    process.kill(redis.pid, 'SIGTERM');
    await exited(redis.pid);
    await startReplacement();
  });
  for (let i = 0; i < 200; i++) await redis.cli('SET', `key:${i}`, `value ${i} ü`);
  await redis.cli('HSET', 'hash', 'a', '1', 'b', '2');
  await redis.cli('ZADD', 'zset', '1', 'one', '2', 'two');
  w.h.addService('redis', { env: containerEnv({ REDIS_PASSWORD: PASSWORD }), shell: 'busybox' });
  w.h.setTargets([{ ...CACHE, port: redis.port }]);
  await w.backup('cache');
  backupDigest = await redis.debugDigest();
}, 240_000);

afterAll(async () => {
  await Promise.all([w?.stop(), redis?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  replaced.length = 0;
  refuseWith = undefined;
  await redis.cli('FLUSHALL');
  await redis.cli('SET', 'after', `the backup ${Date.now()}`);
});

/** The UpdateService calls the orchestrator made since `from`. */
function updateServiceCalls(from: number) {
  return w.h.standin.calls.slice(from).filter((c) => c.operation === 'UpdateService');
}

describe('restoring Redis with allowServiceRestart', () => {
  it('has automatic saves on before the restore, as a production server does', async () => {
    expect(await redis.cli('CONFIG', 'GET', 'save')).toBe('save\n3600 1');
  });

  it('forces a new deployment of the service, and the new server has the backed-up data', async () => {
    const live = await redis.debugDigest();
    expect(live).not.toBe(backupDigest);
    const pid = redis.pid;
    const from = w.h.standin.calls.length;
    const result = await w.untilDone({ action: 'restore', target: 'cache', backup: 'latest', overwrite: true });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(result.note).toMatch(/Staged the backup as .*\/dump\.rdb and turned automatic saves off; .* Restarted service redis \(forced new deployment\): the new task loads the restored RDB\.$/);
    expect(updateServiceCalls(from)).toEqual([
      { operation: 'UpdateService', input: { cluster: expect.stringMatching(/(^|:cluster\/)db$/), service: 'redis', forceNewDeployment: true } },
    ]);
    expect(replaced).toEqual([{ cluster: 'db', service: 'redis' }]);
    expect(redis.pid).not.toBe(pid);
    expect(await redis.debugDigest()).toBe(backupDigest);
  });

  it('says exactly how to restart by hand when the restart fails, leaves the live data alone, and following it restores the data', async () => {
    refuseWith = new EcsApiError('AccessDeniedException', ACCESS_DENIED);
    const live = await redis.debugDigest();
    const pid = redis.pid;
    const from = w.h.standin.calls.length;
    const result = await w.untilDone({ action: 'restore', target: 'cache', backup: 'latest', overwrite: true });
    // The restore job succeeded (the RDB is staged); what remains to do is in the note, as without allowServiceRestart.
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    expect(result.note).toContain(
      `Restarting service redis failed (${ACCESS_DENIED}): stop the Redis task without saving (redis-cli SHUTDOWN NOSAVE; a plain SHUTDOWN, SAVE or BGSAVE would overwrite the staged file) so ECS starts one on the staged file.`,
    );
    expect(updateServiceCalls(from)).toHaveLength(1);
    expect(replaced).toEqual([]);
    expect(redis.pid).toBe(pid);
    expect(await redis.debugDigest()).toBe(live);
    expect(await redis.cli('CONFIG', 'GET', 'save')).toBe('save\n');
    // What the note says: stop Redis without saving; ECS then starts a new task on the staged file.
    await redis.cli('SHUTDOWN', 'NOSAVE').catch(() => '');
    await exited(pid);
    await startReplacement();
    expect(await redis.debugDigest()).toBe(backupDigest);
  });
});
