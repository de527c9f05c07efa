import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../functions/shared/errors.js';
import { startRedis, type RedisServer } from '../../test/helpers/redis.js';
import { digestDifference } from './compare.js';
import type { Lifecycle } from './lifecycle.js';
import { restoreCommand } from './restore-cli.js';
import type { Verdict } from './summary-table.js';
import type { DemoWorld } from './world.js';

/**
 * Verifying a Redis target's backup: the restore CLI stages the RDB as `<dbfilename>.restored` beside
 * the live file (without --overwrite nothing live is touched); a fresh redis-server started on a copy
 * of that file must have the live server's DEBUG DIGEST.
 */

async function configGet(redis: RedisServer, name: string): Promise<string> {
  const [key, value] = (await redis.cli('CONFIG', 'GET', name)).split('\n');
  if (key !== name || value === undefined) throw new Error(`CONFIG GET ${name} answered ${key ?? ''}`);
  return value;
}

/** Restores (stages) and compares; every failure is a `no` verdict naming it. The fresh server is stopped before this returns (and on Ctrl-C). */
export async function verifyRedisRestore(world: DemoWorld, life: Lifecycle, target: string, live: RedisServer, say: (line: string) => void): Promise<Verdict> {
  try {
    const [dir, dbfilename] = await Promise.all([configGet(live, 'dir'), configGet(live, 'dbfilename')]);
    const staged = join(dir, `${dbfilename}.restored`);
    const restored = await restoreCommand(world, ['--target', target], say, 'stages the RDB beside the live one, touching nothing live');
    if (restored.code !== 0) return { verified: 'no', why: `the restore failed (exit ${restored.code})` };
    if (!existsSync(staged)) return { verified: 'no', why: `the restore did not stage ${staged}` };
    const freshDir = mkdtempSync(join(tmpdir(), 'redis-restored-'));
    copyFileSync(staged, join(freshDir, 'dump.rdb'));
    rmSync(staged);
    say(`- a fresh redis-server on a copy of ${staged}`);
    const fresh = await life.track(startRedis({ dir: freshDir }));
    try {
      say(`  redis-server :${fresh.port} (pid ${fresh.pid}) loaded it`);
      const [liveDigest, freshDigest] = await Promise.all([live.debugDigest(), fresh.debugDigest()]);
      const problem = digestDifference(liveDigest, freshDigest);
      say(`  DEBUG DIGEST live ${liveDigest.slice(0, 12)}…, restored ${freshDigest.slice(0, 12)}…: ${problem === null ? 'identical' : 'DIFFERENT'}`);
      if (problem !== null) return { verified: 'no', why: problem };
      return { verified: 'yes', how: 'a fresh redis-server on the staged RDB has the live DEBUG DIGEST' };
    } finally {
      await fresh.stop();
      rmSync(freshDir, { recursive: true, force: true });
    }
  } catch (error) {
    return { verified: 'no', why: errorMessage(error) };
  }
}
