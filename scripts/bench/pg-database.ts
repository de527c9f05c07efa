import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../../test/helpers/postgres.js';
import { withStarted } from './cleanup.js';
import type { PgDatabase } from './results.js';

const run = promisify(execFile);
const MB = 1e6;
/** Name of the generated database. */
export const BENCH_DB = 'bench';
/** pgbench's database grows by about 15 MB per scale unit (100 000 accounts, with indexes). */
const PGBENCH_MB_PER_SCALE = 15;
/** One row of the jsonb table takes about 330 bytes on disk. */
const JSONB_ROW_BYTES = 330;

/** A PostgreSQL 15 server holding the generated database. */
export interface BenchPostgres {
  pg: PostgresServer;
  database: PgDatabase;
  /** libpq environment with PGDATABASE set to the generated database. */
  env: NodeJS.ProcessEnv;
  /** PID of the postmaster (its backends are its children). */
  postmasterPid: number;
  /** The product's target for the database (engine postgres, password in POSTGRES_PASSWORD). */
  target: Target;
  /** Rows pgbench_accounts and docs must hold. */
  expectedRows: { accounts: number; docs: number };
}

function fillSql(rows: number): string {
  return `CREATE TABLE docs (id bigint PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO docs SELECT g, jsonb_build_object('id', g, 'name', 'user ' || g, 'email', 'user' || g || '@example.com',
  'tags', jsonb_build_array('t' || g % 10, 't' || g % 7, 't' || g % 3), 'score', round((random() * 1000)::numeric, 2),
  'active', g % 2 = 0, 'note', md5(g::text) || md5((g * 7)::text), 'address', jsonb_build_object('city', 'city ' || g % 500, 'zip', lpad((g % 99999)::text, 5, '0')))
FROM generate_series(1, ${rows}) g;
VACUUM ANALYZE docs;
CHECKPOINT;`;
}

/** The last lines of the server's log, for error messages. */
export function serverLogTail(pg: PostgresServer): string {
  try {
    return readFileSync(join(pg.dataDir, 'server.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no server log)';
  }
}

/**
 * Starts PostgreSQL 15, generates a database of about sizeMb (80% pgbench, 20% jsonb documents), runs `body` with
 * it and stops the server (also on an interrupt). Errors carry the tail of the server log.
 */
export async function withBenchPostgres<T>(sizeMb: number, log: (line: string) => void, body: (db: BenchPostgres) => Promise<T>): Promise<T> {
  return withStarted(startPostgres, async (pg) => {
    try {
      const env = { ...pg.env, PGDATABASE: BENCH_DB };
      const scale = Math.max(1, Math.round((sizeMb * 0.8) / PGBENCH_MB_PER_SCALE));
      const jsonRows = Math.max(1, Math.round((sizeMb * 0.2 * MB) / JSONB_ROW_BYTES));
      log(`postgres on port ${pg.port}: pgbench -i -s ${scale} and ${jsonRows} jsonb rows...`);
      await pg.createDatabase(BENCH_DB);
      await run(`${PG_BIN}/pgbench`, ['-i', '-q', '-s', String(scale), BENCH_DB], { env });
      await pg.psql(BENCH_DB, fillSql(jsonRows));
      const bytes = Number(await pg.psql(BENCH_DB, `SELECT pg_database_size('${BENCH_DB}')`));
      log(`database ${BENCH_DB}: ${(bytes / MB).toFixed(0)} MB`);
      const postmasterPid = Number(readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const target = targetSchema.parse({
        name: 'bench-pg', engine: 'postgres', cluster: 'c', service: 's', container: 'postgres', database: BENCH_DB, user: 'postgres',
        passwordEnv: 'POSTGRES_PASSWORD', port: pg.port, backupDir: '/backup',
      });
      return await body({ pg, env, postmasterPid, target, database: { bytes, pgbenchScale: scale, jsonRows }, expectedRows: { accounts: scale * 100_000, docs: jsonRows } });
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nlast lines of the PostgreSQL server log:\n${serverLogTail(pg)}`, { cause: error });
    }
  });
}
