import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './exec.js';

/**
 * A throwaway PostgreSQL 15 cluster on 127.0.0.1 for integration tests: initdb in a temp dir as user `postgres`,
 * password (scram) auth over TCP for the superuser `postgres`, stopped by PID. Starts in about 1.5 s.
 */

/** Directory of the PostgreSQL 15 binaries; put it on PATH for job scripts. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A running test cluster. */
export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  user: 'postgres';
  password: string;
  dataDir: string;
  /** Environment for libpq tools (PGHOST, PGPORT, PGUSER, PGPASSWORD). */
  env: NodeJS.ProcessEnv;
  /** Runs SQL with psql (-X -A -t, ON_ERROR_STOP) in `db`; resolves to stdout. */
  psql(db: string, sql: string): Promise<string>;
  /** Creates a database. */
  createDatabase(name: string): Promise<void>;
  /** Per-table md5 of the table's rows in text form, ordered; keys `format('%I.%I')`, plus `<large objects>` when any. */
  tableChecksums(db: string): Promise<Record<string, string>>;
  /** Fast shutdown by PID; removes the data directory. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (released before returning, so a server can take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const CHECKSUM_SQL = `SELECT format('SELECT %L || '' '' || coalesce(md5(string_agg(t::text, E''\\n'' ORDER BY t::text)), ''empty'') FROM %I.%I t',
  format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1
\\gexec
SELECT '<large objects> ' || md5(string_agg(loid::text || ':' || pageno || ':' || encode(data, 'hex'), ',' ORDER BY loid, pageno))
FROM pg_largeobject HAVING count(*) > 0;
`;

/** Starts a throwaway cluster (initdb + pg_ctl as user postgres) on a free port. */
export async function startPostgres(): Promise<PostgresServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pg-test-'));
  chmodSync(dataDir, 0o700);
  const pgUid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const pgGid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dataDir, pgUid, pgGid);
  const password = 'test-password';
  const pwfile = join(dataDir, '..', `${dataDir.split('/').pop()}.pw`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  const port = await freePort();
  const asPostgres = (args: string[]) => runTool('/usr/sbin/runuser', ['-u', 'postgres', '--', ...args], { PATH: `${PG_BIN}:/usr/bin:/bin`, LANG: 'C.UTF-8' });
  await asPostgres([
    `${PG_BIN}/initdb`, '-D', dataDir, '-U', 'postgres', '--encoding=UTF8', '--locale=C.UTF-8',
    '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync',
  ]);
  rmSync(pwfile);
  const options = `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=40`;
  await asPostgres([`${PG_BIN}/pg_ctl`, 'start', '-w', '-D', dataDir, '-l', join(dataDir, 'server.log'), '-o', options]);
  const env: NodeJS.ProcessEnv = {
    PATH: `${PG_BIN}:/usr/bin:/bin`,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: 'postgres',
    PGPASSWORD: password,
  };
  const psql = (db: string, sql: string) => runTool(`${PG_BIN}/psql`, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db], env, sql);
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    dataDir,
    env,
    psql,
    async createDatabase(name) {
      await runTool(`${PG_BIN}/createdb`, [name], env);
    },
    async tableChecksums(db) {
      const out = await psql(db, CHECKSUM_SQL);
      const sums: Record<string, string> = {};
      for (const line of out.split('\n').filter((l) => l !== '')) {
        const at = line.lastIndexOf(' ');
        sums[line.slice(0, at)] = line.slice(at + 1);
      }
      return sums;
    },
    async stop() {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
      for (let i = 0; i < 200; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
