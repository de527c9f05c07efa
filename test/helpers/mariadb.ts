import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './exec.js';
import { freePort } from './postgres.js';

/**
 * A throwaway MariaDB server on 127.0.0.1 for integration tests: mariadb-install-db into a temp dir, mariadbd as
 * root with its own socket and a free port, and a user `backup`@`127.0.0.1` (password auth, all privileges) that
 * tests and job scripts use over TCP. Stopped by PID.
 */

/** A running test server. */
export interface MariadbServer {
  host: '127.0.0.1';
  port: number;
  user: 'backup';
  password: string;
  dataDir: string;
  /** Environment for the mariadb client tools (MYSQL_PWD). */
  env: NodeJS.ProcessEnv;
  /** Runs SQL with the mariadb client as `backup` over TCP (-N -B); `db` may be '' for none. */
  sql(db: string, statements: string): Promise<string>;
  /** Per-table md5 of the table's rows (`SELECT *` in batch format, lines sorted); keys are table names. */
  tableChecksums(db: string): Promise<Record<string, string>>;
  /** Kills the server by PID and removes its data directory. */
  stop(): Promise<void>;
}

/** Starts a MariaDB server in a fresh data directory; `lowerCaseTableNames` 1 makes it fold database and table names to lowercase. */
export async function startMariadb(opts: { lowerCaseTableNames?: 0 | 1 } = {}): Promise<MariadbServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mariadb-test-'));
  // Its own temporary directory: bootstraps of concurrent test files sharing /tmp failed now and then on their temp tables.
  const tmpDir = mkdtempSync(join(tmpdir(), 'mariadb-tmp-'));
  const socket = join(dataDir, 'mysqld.sock');
  const base = { PATH: '/usr/sbin:/usr/bin:/bin' };
  await runTool('mariadb-install-db', ['--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmpDir}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db'], base);
  const port = await freePort();
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmpDir}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', '--user=root',
      `--pid-file=${join(dataDir, 'mariadbd.pid')}`, `--log-error=${join(dataDir, 'error.log')}`, '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=0',
      ...(opts.lowerCaseTableNames !== undefined ? [`--lower-case-table-names=${opts.lowerCaseTableNames}`] : []),
    ],
    { stdio: 'ignore', env: base },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const password = 'backup-pass';
  const rootSql = (s: string) => runTool('mariadb', ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B'], base, s);
  for (let i = 0; ; i++) {
    try {
      await rootSql('SELECT 1');
      break;
    } catch (error) {
      if (i > 200) throw new Error(`mariadbd did not start; see ${dataDir}/error.log`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await rootSql(`CREATE USER 'backup'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL ON *.* TO 'backup'@'127.0.0.1' WITH GRANT OPTION;`);
  const env: NodeJS.ProcessEnv = { ...base, MYSQL_PWD: password };
  const sql = (db: string, statements: string) =>
    runTool('mariadb', ['--no-defaults', '--default-character-set=utf8mb4', '-h', '127.0.0.1', '-P', String(port), '-u', 'backup', '-N', '-B', ...(db === '' ? [] : [db])], env, statements);
  return {
    host: '127.0.0.1',
    port,
    user: 'backup',
    password,
    dataDir,
    env,
    sql,
    async tableChecksums(db) {
      const tables = (await sql(db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"))
        .split('\n')
        .filter((t) => t !== '');
      const sums: Record<string, string> = {};
      for (const table of tables) {
        const ident = `\`${table.replace(/`/g, '``')}\``;
        const rows = await sql(db, `SELECT * FROM ${ident}`);
        const sorted = rows.split('\n').filter((r) => r !== '').sort().join('\n');
        sums[table] = createHash('md5').update(sorted).digest('hex');
      }
      return sums;
    },
    async stop() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}
