/**
 * The local demo: the whole backup path on this machine, with real parts wherever they can run here.
 * Real PostgreSQL 15, Redis 7 and MariaDB servers on loopback; s3rver as the bucket; the ECS/agent
 * stand-in as ECS Exec (commands really run under a pty, in a mount namespace where the "container's"
 * /backup is a temp directory standing for EFS); the orchestrator as its built Lambda bundle, invoked
 * with the hourly EventBridge event. Then it restores the PostgreSQL backup with the restore command
 * (through a stand-in of the Lambda Invoke API) into a new database and compares every table.
 *
 * Usage: npm run demo (as root: the stand-in needs mount namespaces). Everything stops at the end,
 * also on Ctrl-C or SIGTERM.
 */
import { listBackups } from '../functions/shared/adapters/s3-backups.js';
import { errorMessage } from '../functions/shared/errors.js';
import { startMariadb, type MariadbServer } from '../test/helpers/mariadb.js';
import { containerEnv, KEY_PREFIX, SCHEDULED_EVENT } from '../test/helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { startRedis, type RedisServer } from '../test/helpers/redis.js';
import { startRestoreHarness, type RestoreHarness } from '../test/helpers/restore-harness.js';

const TARGETS = ['orders-pg', 'sessions-redis', 'shop-mariadb'] as const;

const USAGE = 'usage: npm run demo [-- --help]';

/** What has started so far; stopped at the end and on a signal (pg_ctl's server would outlive us). */
const running: { stop(): Promise<void> }[] = [];
let stopping: Promise<void> | undefined;

function stopAll(): Promise<void> {
  stopping ??= Promise.allSettled(running.map((s) => s.stop())).then(() => undefined);
  return stopping;
}

async function tracked<T extends { stop(): Promise<void> }>(starting: Promise<T>): Promise<T> {
  const started = await starting;
  if (stopping) {
    await started.stop();
    throw new Error('interrupted while starting');
  }
  running.push(started);
  return started;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
}

async function seed(pg: PostgresServer, redis: RedisServer, maria: MariadbServer): Promise<void> {
  await pg.createDatabase('orders');
  await pg.psql(
    'orders',
    `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, country text);
     INSERT INTO customers SELECT g, 'customer ' || g, (ARRAY['DE','FR','IE','PL'])[1 + g % 4] FROM generate_series(1, 5000) g;
     CREATE TABLE orders (id bigint PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2), doc jsonb);
     INSERT INTO orders SELECT g, 1 + g % 5000, (g % 997) / 10.0, jsonb_build_object('items', g % 7, 'note', 'größe ☃')
       FROM generate_series(1, 50000) g;`,
  );
  for (let i = 0; i < 500; i++) await redis.cli('SET', `session:${i}`, `user-${i % 37}`);
  await redis.cli('HSET', 'stats', 'visits', '1234', 'signups', '56');
  await maria.sql('', 'CREATE DATABASE shop');
  await maria.sql(
    'shop',
    "CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(60), price DECIMAL(8,2)); INSERT INTO products VALUES (1, 'tea', 3.50), (2, 'café', 2.10), (3, 'O''Reilly mug', 9.99);",
  );
}

async function main(): Promise<void> {
  say('ecs-db-backup local demo');
  say('- starting PostgreSQL 15, Redis 7, MariaDB, s3rver, the ECS/agent stand-in; building the Lambda bundle');
  const started = await Promise.allSettled([
    tracked(startRestoreHarness()),
    tracked(startPostgres()),
    tracked(startRedis({ password: 'redis-secret' })),
    tracked(startMariadb()),
  ]);
  const [rh, pg, redis, maria] = started.map((s) => (s.status === 'fulfilled' ? s.value : null)) as [
    RestoreHarness | null,
    PostgresServer | null,
    RedisServer | null,
    MariadbServer | null,
  ];
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed || !rh || !pg || !redis || !maria) throw (failed as PromiseRejectedResult | undefined)?.reason ?? new Error('a component did not start');
    const h = rh.h;
    await seed(pg, redis, maria);
    say(`  postgres :${pg.port} (orders: 5 000 customers, 50 000 orders), redis :${redis.port} (501 keys), mariadb :${maria.port} (shop)`);

    h.addService('orders-db', { env: containerEnv({ POSTGRES_PASSWORD: pg.password }) });
    h.addService('sessions-redis', { env: containerEnv({ REDIS_PASSWORD: 'redis-secret' }), shell: 'busybox' });
    h.addService('shop-db', { env: containerEnv({ MARIADB_PASSWORD: maria.password }) });
    const targets = [
      { name: 'orders-pg', engine: 'postgres', service: 'orders-db', container: 'orders-db', database: 'orders', user: 'postgres', passwordEnv: 'POSTGRES_PASSWORD', port: pg.port },
      { name: 'sessions-redis', engine: 'redis', service: 'sessions-redis', container: 'sessions-redis', passwordEnv: 'REDIS_PASSWORD', port: redis.port },
      { name: 'shop-mariadb', engine: 'mariadb', service: 'shop-db', container: 'shop-db', database: 'shop', user: 'backup', passwordEnv: 'MARIADB_PASSWORD', port: maria.port },
    ];
    h.setTargets(targets);
    rh.writeConfig(targets);

    // In AWS, EventBridge sends this event every hour; a dump not finished within the fast path is picked up next hour.
    for (let hour = 1; hour <= 5; hour++) {
      say(`- invocation ${hour}: the hourly EventBridge event`);
      const run = await h.run(SCHEDULED_EVENT);
      if (run.error) throw new Error(`the orchestrator failed: ${run.error.name}: ${run.error.message}`);
      const results = (run.result as { results: { target: string; outcome: string; reason?: string }[] }).results;
      for (const r of results) say(`  ${r.target.padEnd(16)} ${r.outcome}${r.reason ? `: ${r.reason}` : ''}`);
      if (results.every((r) => r.outcome === 'succeeded' || r.outcome === 'idle')) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }

    say('- what is in the bucket now');
    for (const target of TARGETS) {
      for (const b of await listBackups(h.s3.client, h.s3.bucket, KEY_PREFIX, target)) {
        const m = b.manifest;
        const counts = m?.counts?.tables ? `${Object.keys(m.counts.tables).length} tables` : m?.counts?.keys !== undefined ? `${m.counts.keys} keys` : '';
        say(`  ${b.key.padEnd(40)} ${String(b.size).padStart(9)} B  sha256 ${m?.sha256.slice(0, 12) ?? '?'}…  ${m?.toolVersion ?? ''}  ${counts}`);
      }
    }

    say('- npm run restore -- --target orders-pg --list');
    const list = await rh.cli(['--target', 'orders-pg', '--list']);
    say(indent(list.stdout));
    say('- npm run restore -- --target orders-pg   (into the live database, without --overwrite)');
    const refused = await rh.cli(['--target', 'orders-pg']);
    say(indent(`${refused.stderr.trim()}  [exit ${refused.code}]`));
    if (refused.code === 0) throw new Error('the restore command overwrote the live database without --overwrite');
    say('- npm run restore -- --target orders-pg --into orders_restored');
    const restored = await rh.cli(['--target', 'orders-pg', '--into', 'orders_restored']);
    say(indent(restored.stdout));
    if (restored.code !== 0) throw new Error(`the restore failed: ${restored.stderr.trim()}`);
    const [before, after] = await Promise.all([pg.tableChecksums('orders'), pg.tableChecksums('orders_restored')]);
    const same = JSON.stringify(before) === JSON.stringify(after);
    say(`  ${Object.keys(before).length} tables compared with the live database: ${same ? 'identical' : 'DIFFERENT'}`);
    if (!same) throw new Error('the restored database differs from the original');
    say('demo finished: three databases backed up, verified, uploaded, and one restored identically');
  } finally {
    await stopAll();
  }
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  say(`${USAGE}\n\nBacks up real PostgreSQL, Redis and MariaDB servers through the ECS stand-in and the built Lambda, then restores one.`);
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(`error: unexpected argument ${args[0]}: the demo takes no arguments\n${USAGE}\n`);
  process.exit(2);
}
let signalled: number | undefined;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    signalled = code;
    process.stderr.write(`error: ${signal}: stopping the servers\n`);
    void stopAll();
  });
}
main()
  .then(
    () => 0,
    (error: unknown) => {
      if (signalled === undefined) process.stderr.write(`error: ${errorMessage(error)}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    await stopAll();
    process.exit(signalled ?? code);
  });
