import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCounts } from '../../functions/orchestrator/drill/drill-compare.js';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { buildDrillJob } from '../../functions/shared/core/scripts/drill-job.js';
import { buildRestoreJob } from '../../functions/shared/core/scripts/restore-job.js';
import { readMarker, runContext, stageFile } from '../helpers/job-run.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { runJob, shells, type Shell } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

const PASSWORD = `s3cret 'with" $pecial \\ chars`;

let redis: RedisServer;
let work: string;
let digest: string;

function redisTarget(overrides: Record<string, unknown> = {}): Target {
  return targetSchema.parse({
    name: 'sessions', engine: 'redis', cluster: 'c', service: 's', container: 'redis', passwordEnv: 'REDIS_PASSWORD',
    port: redis.port, backupDir: '/backup', dumpTimeoutMinutes: 1, ...overrides,
  });
}

function stage(dumpDir: string, name: string, file: string): string {
  return stageFile(join(dumpDir, 'dump.rdb'), work, name, file);
}

async function seed(server: RedisServer): Promise<void> {
  await server.cli('SET', 'plain', 'value');
  await server.cli('SET', 'unicode:ключ', 'wört "quoted"');
  await server.cli('HSET', 'hash', 'a', '1', 'b', '2');
  await server.cli('RPUSH', 'list', 'x', 'y', 'z');
  await server.cli('SADD', 'set', 'm1', 'm2');
  await server.cli('SELECT', '3');
  await server.cli('-n', '3', 'SET', 'in-db-3', 'yes');
  await server.cli('-n', '15', 'SET', 'in-db-15', 'yes');
  await server.cli('-n', '15', 'SET', 'session', 'yes', 'EX', '3600');
  await server.cli('DEBUG', 'POPULATE', '500', 'pop');
}

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  work = mkdtempSync(join(tmpdir(), 'redis-jobs-'));
  await seed(redis);
  digest = await redis.debugDigest();
});

afterAll(async () => {
  await redis?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.each(shells())('redis jobs under $name', (shell: Shell) => {
  let dumpDir: string;

  it("backs up a fresh BGSAVE snapshot, checked by redis-check-rdb, with the file's persistent and volatile keys per database", async () => {
    const runDir = join(work, `${shell.name}-backup`);
    await redis.cli('SET', `written-just-before-${shell.name}`, '1');
    const db0 = Number(await redis.cli('DBSIZE'));

    const result = await runJob(shell, runDir, buildBackupJob(redisTarget(), runContext(runDir)), { env: { REDIS_PASSWORD: PASSWORD } });
    dumpDir = runDir;

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.ok).toBe(true);
    expect(m.steps.map((s) => s.name)).toEqual(['secret', 'version', 'locate', 'snapshot', 'copy', 'check', 'promote']);
    expect(m.file).toBe('dump.rdb');
    const bytes = readFileSync(join(runDir, 'dump.rdb'));
    expect(m.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(m.bytes).toBe(bytes.length);
    expect(m.counts).toEqual({
      keys: db0 + 3,
      redis: {
        persistent: db0 + 2,
        volatile: 1,
        databases: { 0: { persistent: db0, volatile: 0 }, 3: { persistent: 1, volatile: 0 }, 15: { persistent: 1, volatile: 1 } },
        expiredAtCheck: 0,
      },
    });
    expect(m.toolVersion).toMatch(/^redis 7\./);
    await redis.cli('DEL', `written-just-before-${shell.name}`);
  });

  it('drills the RDB in a throwaway server and counts the same keys, leaving the live server alone', async () => {
    const runDir = stage(dumpDir, `${shell.name}-drill`, 'latest.rdb');

    const result = await runJob(shell, runDir, buildDrillJob(redisTarget(), runContext(runDir), { file: 'latest.rdb', scratchDatabase: 'unused' }), {
      env: { REDIS_PASSWORD: PASSWORD },
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.ok).toBe(true);
    const dumped = readMarker(dumpDir).counts!;
    expect(m.counts).toEqual({ keys: dumped.keys, redis: { ...dumped.redis, expiredAtCheck: undefined, expiredBeforeLoad: 0, expiredAfterCount: 0 } });
    expect(compareCounts(dumped, m.counts).ok).toBe(true);
    expect(m.steps.map((s) => s.name)).toEqual(['check', 'start', 'counts', 'stop', 'recheck']);
    expect(await redis.debugDigest()).toBe(digest);
  });

  it('fails a drill of a corrupted RDB and touches nothing else', async () => {
    const runDir = join(work, `${shell.name}-baddrill`);
    mkdirSync(runDir, { recursive: true });
    const bytes = readFileSync(join(dumpDir, 'dump.rdb'));
    writeFileSync(join(runDir, 'latest.rdb'), Buffer.concat([bytes.subarray(0, 200), Buffer.alloc(64, 0xff)]));

    const result = await runJob(shell, runDir, buildDrillJob(redisTarget(), runContext(runDir), { file: 'latest.rdb', scratchDatabase: 'unused' }), {
      env: { REDIS_PASSWORD: PASSWORD },
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps[0]).toMatchObject({ name: 'check' });
    expect(await redis.debugDigest()).toBe(digest);
  });

  it('authenticates as an ACL user with --user and the password from the environment', async () => {
    const runDir = join(work, `${shell.name}-acl`);
    await redis.cli('ACL', 'SETUSER', `backup-${shell.name}`, 'on', '>acl pass', '~*', '&*', '+@all');

    const result = await runJob(shell, runDir, buildBackupJob(redisTarget({ user: `backup-${shell.name}` }), runContext(runDir)), {
      env: { REDIS_PASSWORD: 'acl pass' },
    });

    expect(result.code).toBe(0);
    expect(readMarker(runDir).ok).toBe(true);
  });

  it('writes ok=false at the version step given a wrong password', async () => {
    const runDir = join(work, `${shell.name}-wrongpw`);

    const result = await runJob(shell, runDir, buildBackupJob(redisTarget(), runContext(runDir)), { env: { REDIS_PASSWORD: 'wrong' } });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps.at(-1)).toEqual({ name: 'version', status: 1 });
    expect(m.file).toBeNull();
    expect(existsSync(join(runDir, 'dump.rdb'))).toBe(false);
  });
});

describe.each(shells())('redis restore under $name', (shell: Shell) => {
  it('stages the RDB where the server loads it, and a restart without saving brings the backed-up data back', async () => {
    const dir = tempDir('redis-restore');
    let live = await startRedis({ password: PASSWORD, dir });
    try {
      await seed(live);
      const backedUp = await live.debugDigest();
      const target = () => redisTarget({ port: live.port });
      const dumpDir = join(work, `${shell.name}-restore-src`);
      await runJob(shell, dumpDir, buildBackupJob(target(), runContext(dumpDir)), { env: { REDIS_PASSWORD: PASSWORD } });
      await live.cli('FLUSHALL');
      await live.cli('SET', 'after-backup', '1');
      const changed = await live.debugDigest();
      const runDir = stage(dumpDir, `${shell.name}-restore`, 'in.rdb');
      await live.cli('SAVE');
      const liveFile = readFileSync(join(dir, 'dump.rdb'));

      const withoutOverwrite = await runJob(shell, runDir, buildRestoreJob(target(), runContext(runDir), { file: 'in.rdb', overwrite: false }), {
        env: { REDIS_PASSWORD: PASSWORD },
      });
      const staged = readMarker(runDir);
      expect(withoutOverwrite.code).toBe(0);
      expect(staged.note).toContain(`${dir}/dump.rdb.restored`);
      expect(readFileSync(join(dir, 'dump.rdb'))).toEqual(liveFile);
      expect(await live.debugDigest()).toBe(changed);

      const result = await runJob(shell, runDir, buildRestoreJob(target(), runContext(runDir), { file: 'in.rdb', overwrite: true }), {
        env: { REDIS_PASSWORD: PASSWORD },
      });
      const m = readMarker(runDir);
      expect(result.code).toBe(0);
      expect(m.ok).toBe(true);
      expect(m.note).toContain('SHUTDOWN NOSAVE');
      expect(await live.debugDigest()).toBe(changed);

      await live.stop();
      live = await startRedis({ password: PASSWORD, dir });
      expect(await live.debugDigest()).toBe(backedUp);
    } finally {
      await live.stop();
    }
  });
});

describe.each(shells())('redis restore with AOF under $name', (shell: Shell) => {
  it('stages nothing and says why when the server loads an append-only file at start', async () => {
    const dir = tempDir('redis-aof');
    const live = await startRedis({ password: PASSWORD, dir, extraArgs: ['--appendonly', 'yes'] });
    try {
      await live.cli('SET', 'k', 'v');
      const runDir = join(work, `${shell.name}-aof`);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'in.rdb'), readFileSync(join(work, `${shell.name}-backup`, 'dump.rdb')));

      const result = await runJob(shell, runDir, buildRestoreJob(redisTarget({ port: live.port }), runContext(runDir), { file: 'in.rdb', overwrite: true }), {
        env: { REDIS_PASSWORD: PASSWORD },
      });

      const m = readMarker(runDir);
      expect(result.code).toBe(1);
      expect(m.steps.at(-1)).toEqual({ name: 'stage', status: 1 });
      expect(m.note).toContain('appendonly yes');
      expect(existsSync(join(dir, 'dump.rdb'))).toBe(false);
    } finally {
      await live.stop();
    }
  });
});

describe.each(shells())('redis restore without CONFIG SET under $name', (shell: Shell) => {
  it('stages nothing when automatic saves cannot be turned off, since a save could overwrite the staged file', async () => {
    const dir = tempDir('redis-noconfigset');
    const live = await startRedis({ password: PASSWORD, dir });
    try {
      await live.cli('SET', 'k', 'v');
      await live.cli('SAVE');
      const liveFile = readFileSync(join(dir, 'dump.rdb'));
      await live.cli('ACL', 'SETUSER', 'restorer', 'on', '>restore pass', '~*', '&*', '+@all', '-config|set');
      const runDir = join(work, `${shell.name}-noconfigset`);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'in.rdb'), readFileSync(join(work, `${shell.name}-backup`, 'dump.rdb')));

      const result = await runJob(
        shell,
        runDir,
        buildRestoreJob(redisTarget({ port: live.port, user: 'restorer' }), runContext(runDir), { file: 'in.rdb', overwrite: true, restartAllowed: true }),
        { env: { REDIS_PASSWORD: 'restore pass' } },
      );

      const m = readMarker(runDir);
      expect(result.code).toBe(1);
      expect(m.ok).toBe(false);
      expect(m.steps.at(-1)).toEqual({ name: 'stage', status: 1 });
      expect(m.note).toMatch(/^Nothing staged: CONFIG SET save '' failed/);
      expect(readFileSync(join(dir, 'dump.rdb'))).toEqual(liveFile);
    } finally {
      await live.stop();
    }
  });
});

describe.each(shells())('redis overwrite restore that fails after turning saves off under $name', (shell: Shell) => {
  it('puts the save setting back, removes the partial copy, and says what it changed and put back', async () => {
    const dir = tempDir('redis-failed-stage');
    const live = await startRedis({ password: PASSWORD, dir, extraArgs: ['--save', '3600 1 300 100'] });
    try {
      await seed(live);
      await live.cli('SAVE');
      const liveFile = readFileSync(join(dir, 'dump.rdb'));
      const digest = await live.debugDigest();
      // A cp that runs out of space halfway, as on a full data volume: it leaves a partial file and fails.
      const bin = tempDir('full-disk-cp');
      writeFileSync(
        join(bin, 'cp'),
        '#!/bin/sh\nhead -c "$(( $(wc -c <"$1") / 2 ))" "$1" >"$2"\necho "cp: error writing \'$2\': No space left on device" >&2\nexit 1\n',
        { mode: 0o755 },
      );
      const runDir = join(work, `${shell.name}-failed-stage`);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'in.rdb'), readFileSync(join(work, `${shell.name}-backup`, 'dump.rdb')));

      const result = await runJob(shell, runDir, buildRestoreJob(redisTarget({ port: live.port }), runContext(runDir), { file: 'in.rdb', overwrite: true }), {
        env: { REDIS_PASSWORD: PASSWORD },
        path: [bin],
      });

      const m = readMarker(runDir);
      expect(result.code).toBe(1);
      expect(m.steps.at(-1)).toEqual({ name: 'stage', status: 1 });
      expect(await live.cli('CONFIG', 'GET', 'save')).toBe('save\n3600 1 300 100');
      expect(readdirSync(dir).sort()).toEqual(['dump.rdb', 'redis.log']);
      expect(readFileSync(join(dir, 'dump.rdb'))).toEqual(liveFile);
      expect(await live.debugDigest()).toBe(digest);
      expect(m.note).toBe(
        `Nothing staged: the restore failed after turning automatic saves off (CONFIG SET save ''); the partial copy ${dir}/.dump.rdb.restore-tmp was removed, ` +
          `and the save setting was put back (CONFIG SET save '3600 1 300 100'). The live data and ${dir}/dump.rdb are unchanged.`,
      );
      expect(m.stderrTail).toMatch(/No space left on device/);
    } finally {
      await live.stop();
    }
  });

  it('puts everything back too when the job is terminated while it copies, as the orchestrator stops a job', async () => {
    const dir = tempDir('redis-term-stage');
    const live = await startRedis({ password: PASSWORD, dir, extraArgs: ['--save', '900 1'] });
    try {
      await live.cli('SET', 'k', 'v');
      await live.cli('SAVE');
      const liveFile = readFileSync(join(dir, 'dump.rdb'));
      // A cp on a slow volume: half the file, then a long wait.
      const bin = tempDir('slow-cp');
      writeFileSync(join(bin, 'cp'), '#!/bin/sh\nhead -c "$(( $(wc -c <"$1") / 2 ))" "$1" >"$2"\nsleep 30\n', { mode: 0o755 });
      const runDir = join(work, `${shell.name}-term-stage`);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'in.rdb'), readFileSync(join(work, `${shell.name}-backup`, 'dump.rdb')));
      let pid = 0;
      const running = runJob(shell, runDir, buildRestoreJob(redisTarget({ port: live.port }), runContext(runDir), { file: 'in.rdb', overwrite: true }), {
        env: { REDIS_PASSWORD: PASSWORD },
        path: [bin],
        detached: true,
        onSpawn: (p) => (pid = p),
      });
      for (let i = 0; !existsSync(join(dir, '.dump.rdb.restore-tmp')); i++) {
        if (i > 400) throw new Error('the copy never started');
        await new Promise((r) => setTimeout(r, 25));
      }
      process.kill(-pid, 'SIGTERM');
      const result = await running;

      expect(result.code).toBe(143);
      expect(await live.cli('CONFIG', 'GET', 'save')).toBe('save\n900 1');
      expect(readdirSync(dir).sort()).toEqual(['dump.rdb', 'redis.log']);
      expect(readFileSync(join(dir, 'dump.rdb'))).toEqual(liveFile);
      expect(readMarker(runDir).note).toMatch(/^Nothing staged: the restore failed after turning automatic saves off .* the save setting was put back \(CONFIG SET save '900 1'\)/);
    } finally {
      await live.stop();
    }
  });
});
