import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { buildBackupJob, buildDrillJob, buildRestoreJob } from '../../functions/shared/core/scripts/jobs.js';
import { readMarker, runContext, stageFile } from '../helpers/job-run.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { runJob, shells } from '../helpers/shells.js';
import { startAll } from '../helpers/start-all.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * Secrets never touch EFS: after a backup, a drill and a restore of every engine (real PostgreSQL, MariaDB and Redis
 * servers; MongoDB with the fake tools), no file the jobs left in their run directories (the log, the marker, which
 * the manifest is made from, the dump) holds the password, as it is or as JSON escapes it.
 */

const FAKE_MONGO = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-mongo');
const REDIS_PASSWORD = 'redis-Pw "9" \\ x';
const MONGO_PASSWORD = `mongo-Pw '7' "y"`;

let pg: PostgresServer;
let maria: MariadbServer;
let redis: RedisServer;

beforeAll(async () => {
  [pg, maria, redis] = await startAll([startPostgres(), startMariadb(), startRedis({ password: REDIS_PASSWORD })]);
  await pg.createDatabase('app');
  await pg.psql('app', 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);');
  await maria.sql('', 'CREATE DATABASE shop');
  await maria.sql('shop', 'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2);');
  await redis.cli('SET', 'k', 'v');
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), maria?.stop(), redis?.stop()]);
});

interface Case {
  target: () => Target;
  secret: () => string;
  env: () => NodeJS.ProcessEnv;
  path: string[];
  dump: string;
  restore: { intoDatabase?: string; overwrite: boolean };
}

const base = { cluster: 'c', service: 's', container: 'db', backupDir: '/backup', dumpTimeoutMinutes: 1 };
const CASES: Record<string, Case> = {
  postgres: {
    target: () => targetSchema.parse({ ...base, name: 'pg', engine: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port }),
    secret: () => pg.password,
    env: () => ({ DB_PASSWORD: pg.password }),
    path: [PG_BIN],
    dump: 'dump.pgdump',
    restore: { intoDatabase: 'app_copy', overwrite: false },
  },
  mariadb: {
    target: () => targetSchema.parse({ ...base, name: 'shop', engine: 'mariadb', database: 'shop', user: 'backup', passwordEnv: 'DB_PASSWORD', port: maria.port }),
    secret: () => maria.password,
    env: () => ({ DB_PASSWORD: maria.password }),
    path: [],
    dump: 'dump.sql.gz',
    restore: { intoDatabase: 'shop_copy', overwrite: false },
  },
  redis: {
    target: () => targetSchema.parse({ ...base, name: 'cache', engine: 'redis', passwordEnv: 'DB_PASSWORD', port: redis.port }),
    secret: () => REDIS_PASSWORD,
    env: () => ({ DB_PASSWORD: REDIS_PASSWORD }),
    path: [],
    dump: 'dump.rdb',
    restore: { overwrite: false },
  },
  mongodb: {
    target: () => targetSchema.parse({ ...base, name: 'docs', engine: 'mongodb', database: 'app', user: 'root', passwordEnv: 'DB_PASSWORD', port: 27017 }),
    secret: () => MONGO_PASSWORD,
    env: () => ({ DB_PASSWORD: MONGO_PASSWORD, FAKE_MONGO_DATA: 'app.users:3', FAKE_MONGO_LOG: join(tempDir('fake-mongo-log'), 'calls.log') }),
    path: [FAKE_MONGO],
    dump: 'dump.archive.gz',
    restore: { intoDatabase: 'copy', overwrite: false },
  },
};

/** Every file under `dir`, dotfiles too, with done.gz also unpacked. */
function contents(dir: string): { file: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .flatMap((file) => {
      const bytes = readFileSync(file);
      return file.endsWith('done.gz') ? [{ file, bytes }, { file: `${file} (unpacked)`, bytes: gunzipSync(bytes) }] : [{ file, bytes }];
    });
}

const dash = shells().find((s) => s.name === 'dash')!;

describe.each(Object.keys(CASES))('the %s jobs', (engine) => {
  it('leave no password in the run directories, the log or the marker', async () => {
    const c = CASES[engine]!;
    const work = tempDir(`secrets-${engine}`);
    const backupDir = join(work, 'backup');
    const ctx = (d: string) => runContext(d);

    await runJob(dash, backupDir, buildBackupJob(c.target(), ctx(backupDir)), { env: c.env(), path: c.path });
    const drillDir = stageFile(join(backupDir, c.dump), work, 'drill', 'in.bin');
    await runJob(dash, drillDir, buildDrillJob(c.target(), ctx(drillDir), { file: 'in.bin', scratchDatabase: `${c.target().database ?? 'x'}_drill` }), {
      env: c.env(),
      path: c.path,
    });
    const restoreDir = stageFile(join(backupDir, c.dump), work, 'restore', 'in.bin');
    await runJob(dash, restoreDir, buildRestoreJob(c.target(), ctx(restoreDir), { file: 'in.bin', ...c.restore }), { env: c.env(), path: c.path });

    for (const dir of [backupDir, drillDir, restoreDir]) expect(readMarker(dir).ok, `${dir}: ${readMarker(dir).stderrTail}`).toBe(true);
    const secret = c.secret();
    const forms = [secret, JSON.stringify(secret).slice(1, -1)];
    const leaks = contents(work).filter(({ bytes }) => forms.some((f) => bytes.includes(f)));
    expect(leaks.map((l) => l.file)).toEqual([]);
  });
});
