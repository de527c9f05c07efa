import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMariadb, type MariadbServer } from '../../test/helpers/mariadb.js';
import { CLUSTER, CONTAINER_BACKUP_DIR, KEY_PREFIX } from '../../test/helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.js';
import { startRedis, type RedisServer } from '../../test/helpers/redis.js';
import { showBucket } from './bucket.js';
import { noBackupVerdict, runHourly } from './hourly.js';
import type { Lifecycle } from './lifecycle.js';
import { restoreCommand } from './restore-cli.js';
import { SAMPLE_SIZES, seedSampleData, tamperSampleData } from './sample-data.js';
import { summaryRow, type SummaryRow, type Verdict } from './summary-table.js';
import { verifyTablesRestore } from './verify-tables.js';
import { verifyRedisRestore } from './verify-redis.js';
import { startWorld, type DemoWorld } from './world.js';

/**
 * The default demo: throwaway PostgreSQL, Redis and MariaDB servers with sample data are backed up
 * by the orchestrator bundle on its hourly schedule, then every backup is restored through the
 * product's restore path into something fresh and compared with the live data.
 */

const REDIS_PASSWORD = 'redis-secret';

/** What the demo flows get from the entry point. */
export interface DemoContext {
  life: Lifecycle;
  say: (line: string) => void;
  small: boolean;
  /** Change the live sample data after the backups (every verification must then fail). */
  tamper: boolean;
}

function pidFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n')[0]!.trim();
  } catch {
    return '?';
  }
}

async function startServers(life: Lifecycle): Promise<[DemoWorld, PostgresServer, RedisServer, MariadbServer]> {
  const starting = [
    life.track(startWorld({ clusters: [CLUSTER], region: 'us-east-1', bucket: 'backups', keyPrefix: KEY_PREFIX, fastPathSeconds: 30, mark: life.root })),
    life.track(startPostgres()),
    life.track(startRedis({ password: REDIS_PASSWORD })),
    life.track(startMariadb()),
  ] as const;
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  // The started ones are tracked: stopAll() stops them.
  if (failed) throw failed.reason;
  return (settled as PromiseFulfilledResult<unknown>[]).map((s) => s.value) as [DemoWorld, PostgresServer, RedisServer, MariadbServer];
}

/** Runs the default demo; resolves to the summary rows. */
export async function runDefaultDemo(ctx: DemoContext): Promise<SummaryRow[]> {
  const { life, say } = ctx;
  say('- starting PostgreSQL 15, Redis 7, MariaDB, moto (S3), the ECS/agent stand-in; building the Lambda bundle');
  const [world, pg, redis, maria] = await startServers(life);
  life.check();
  const seeded = await seedSampleData(pg, redis, maria, ctx.small ? SAMPLE_SIZES.small : SAMPLE_SIZES.full);
  say(`  postgres :${pg.port} (pid ${pidFile(join(pg.dataDir, 'postmaster.pid'))}), redis :${redis.port} (pid ${redis.pid}), mariadb :${maria.port} (pid ${pidFile(join(maria.dataDir, 'mariadbd.pid'))})`);
  say(`  sample data: ${seeded}`);

  const task = (service: string, target: string, env: Record<string, string>) => ({
    cluster: CLUSTER,
    service,
    containers: [{ name: service, env, backupDirs: { [CONTAINER_BACKUP_DIR]: target } }],
  });
  world.addTask(task('orders-db', 'orders-pg', { POSTGRES_PASSWORD: pg.password }));
  // The Redis "container" has busybox as /bin/sh, like an Alpine image.
  world.addTask(task('sessions-redis', 'sessions-redis', { REDIS_PASSWORD }), 'busybox');
  world.addTask(task('shop-db', 'shop-mariadb', { MARIADB_PASSWORD: maria.password }));
  const common = { cluster: CLUSTER, backupDir: CONTAINER_BACKUP_DIR };
  const targets = world.setTargets([
    { ...common, name: 'orders-pg', engine: 'postgres', service: 'orders-db', container: 'orders-db', database: 'orders', user: 'postgres', passwordEnv: 'POSTGRES_PASSWORD', port: pg.port },
    { ...common, name: 'sessions-redis', engine: 'redis', service: 'sessions-redis', container: 'sessions-redis', passwordEnv: 'REDIS_PASSWORD', port: redis.port },
    { ...common, name: 'shop-mariadb', engine: 'mariadb', service: 'shop-db', container: 'shop-db', database: 'shop', user: 'backup', passwordEnv: 'MARIADB_PASSWORD', port: maria.port },
  ]);
  say(`  targets: ${targets.map((t) => `${t.name} (${t.engine}, service ${t.service})`).join(', ')}`);

  // In AWS, EventBridge sends this event every hour; a dump not finished within the fast path is picked up next hour.
  const names = targets.map((t) => t.name);
  const hourly = await runHourly(world, names, say, { maxInvocations: 6, pauseMs: 2_000, stopping: () => life.stopping });
  life.check();
  const manifests = await showBucket(world, names, say);
  if (ctx.tamper) {
    say('- --tamper: changing one row of orders, one key of redis and one row of shop after their backups');
    await tamperSampleData(pg, redis, maria);
  }

  const verdicts = new Map<string, Verdict>();
  const backedUp = (name: string) => hourly.get(name)?.outcome === 'succeeded' && manifests.get(name) != null;
  if (backedUp('orders-pg')) {
    await restoreCommand(world, ['--target', 'orders-pg', '--list'], say);
    const refused = await restoreCommand(world, ['--target', 'orders-pg'], say, 'into the live database without --overwrite: refused');
    if (refused.code === 0) verdicts.set('orders-pg', { verified: 'no', why: 'the restore CLI overwrote the live database without --overwrite' });
    else verdicts.set('orders-pg', await verifyTablesRestore(world, { target: 'orders-pg', database: 'orders', into: 'orders_restored', checksums: (db) => pg.tableChecksums(db) }, say));
  }
  life.check();
  if (backedUp('shop-mariadb')) {
    verdicts.set('shop-mariadb', await verifyTablesRestore(world, { target: 'shop-mariadb', database: 'shop', into: 'shop_restored', checksums: (db) => maria.tableChecksums(db) }, say));
  }
  life.check();
  if (backedUp('sessions-redis')) verdicts.set('sessions-redis', await verifyRedisRestore(world, life, 'sessions-redis', redis, say));

  life.check();
  return targets.map((t) => summaryRow(t.name, t.engine, manifests.get(t.name) ?? null, verdicts.get(t.name) ?? noBackupVerdict(hourly.get(t.name))));
}
