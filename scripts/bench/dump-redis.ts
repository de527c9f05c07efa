import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { buildDrillJob } from '../../functions/shared/core/scripts/drill-job.js';
import { stageFile } from '../../test/helpers/job-run.js';
import { startRedis } from '../../test/helpers/redis.js';
import { withStarted } from './cleanup.js';
import { timedJob } from './job.js';
import type { RedisResult } from './results.js';
import { runPlans, type Plan } from './runner.js';
import { timed } from './timed.js';

/** Options of the Redis dump benchmark. */
export interface RedisBenchOptions {
  keys: number;
  repeats: number;
  work: string;
  log: (line: string) => void;
}

/** Loads `keys` string keys (`key:<n>` = 64 random hex characters, which RDB's LZF cannot shrink) through `redis-cli --pipe`. */
async function load(port: number, keys: number): Promise<void> {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  // A redis-cli that dies early closes its stdin; its exit status and output carry the error.
  child.stdin.on('error', () => undefined);
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const batch = 10_000;
  for (let from = 0; from < keys; from += batch) {
    const random = randomBytes(32 * batch).toString('hex');
    let chunk = '';
    for (let i = 0; i < Math.min(batch, keys - from); i++) {
      const key = `key:${from + i}`;
      chunk += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$64\r\n${random.slice(i * 64, i * 64 + 64)}\r\n`;
    }
    if (!child.stdin.write(chunk)) await Promise.race([new Promise((r) => child.stdin.once('drain', r)), closed]);
    if (child.exitCode !== null || child.signalCode !== null) break;
  }
  child.stdin.end();
  const code = await closed;
  if (code !== 0 || !/errors: 0,/.test(output)) throw new Error(`redis-cli --pipe failed (exit ${code}): ${output.slice(-1000)}`);
}

/** Starts Redis 7, loads `keys` keys and measures the project's backup job (BGSAVE + copy + check) against `redis-cli --rdb`. */
export async function benchRedis(opts: RedisBenchOptions): Promise<RedisResult> {
  return withStarted(startRedis, async (redis) => {
    opts.log(`redis on port ${redis.port}: loading ${opts.keys} keys...`);
    await load(redis.port, opts.keys);
    const dbsize = Number(await redis.cli('DBSIZE'));
    if (dbsize !== opts.keys) throw new Error(`redis holds ${dbsize} keys after loading, expected ${opts.keys}`);
    const delay = await redis.cli('CONFIG', 'GET', 'repl-diskless-sync-delay');
    const cli = ['redis-cli', '-h', '127.0.0.1', '-p', String(redis.port)];
    const rdb = join(opts.work, 'cli.rdb');
    const target = targetSchema.parse({ name: 'bench-redis', engine: 'redis', cluster: 'c', service: 's', container: 'redis', port: redis.port, backupDir: '/backup' });
    let jobRound = 0;
    const seconds = delay.split('\n')[1] ?? '?';
    const cliRdb = (delaySeconds: string): Plan => ({
      label: `\`redis-cli --rdb\` (server repl-diskless-sync-delay ${delaySeconds}${delaySeconds === seconds ? ', the default' : ''})`,
      async run() {
        await redis.cli('CONFIG', 'SET', 'repl-diskless-sync-delay', delaySeconds);
        try {
          const t = await timed('redis-cli --rdb', [...cli, '--rdb', rdb]);
          const bytes = statSync(rdb).size;
          rmSync(rdb);
          return { ...t, bytes };
        } finally {
          await redis.cli('CONFIG', 'SET', 'repl-diskless-sync-delay', seconds);
        }
      },
    });
    const plans: Plan[] = [
      cliRdb(seconds),
      cliRdb('0'),
      {
        label: "the product's backup job (dash)",
        async run() {
          const runDir = join(opts.work, 'redis-job');
          rmSync(runDir, { recursive: true, force: true });
          const job = await timedJob('redis backup job', runDir, buildBackupJob(target, { runId: `bench-${++jobRound}`, runDir, startedAt: new Date().toISOString() }));
          if (job.marker.counts?.keys !== undefined && job.marker.counts.keys !== opts.keys) {
            throw new Error(`the job counted ${job.marker.counts.keys} keys, expected ${opts.keys}`);
          }
          return { wallSeconds: job.wallSeconds, cpuSeconds: job.cpuSeconds, maxRssKiB: job.maxRssKiB, bytes: job.marker.bytes };
        },
      },
    ];
    // The drill's file: one backup, made before the measurements.
    const source = join(opts.work, 'redis-drill-source');
    const dumped = await timedJob('redis backup job', source, buildBackupJob(target, { runId: 'bench-drill-source', runDir: source, startedAt: new Date().toISOString() }));
    let drillRound = 0;
    plans.push({
      label: "the product's drill job (dash: redis-check-rdb, load into a throwaway server, count, redis-check-rdb again)",
      async run() {
        const runDir = stageFile(join(source, 'dump.rdb'), opts.work, 'redis-drill', 'latest.rdb');
        const drill = buildDrillJob(target, { runId: `bench-drill-${++drillRound}`, runDir, startedAt: new Date().toISOString() }, { file: 'latest.rdb', scratchDatabase: 'unused' });
        const job = await timedJob('redis drill job', runDir, drill);
        rmSync(runDir, { recursive: true, force: true });
        if (job.marker.counts?.keys !== dumped.marker.counts?.keys) throw new Error(`the drill loaded ${job.marker.counts?.keys} keys, the backup had ${dumped.marker.counts?.keys}`);
        return { wallSeconds: job.wallSeconds, cpuSeconds: job.cpuSeconds, maxRssKiB: job.maxRssKiB, bytes: null };
      },
    });
    const [cliRow, noDelay, job, drill] = await runPlans(plans, opts.repeats, redis.pid, opts.log);
    rmSync(join(opts.work, 'redis-job'), { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
    return { keys: opts.keys, cli: cliRow!, cliNoDelay: noDelay!, job: job!, drill: drill! };
  });
}
