import type { Engine } from '../../functions/shared/config/schema.js';

/**
 * Which programs the demo needs and the Debian package that installs each one: pure data and lookups,
 * so that a missing binary is reported with the one command that fixes it.
 */

/** Directory of the PostgreSQL 15 binaries (not on PATH in Debian). */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** One needed program: `name` is looked up on PATH unless `path` is absolute; `install` is how to get it. */
export interface Binary {
  name: string;
  path?: string;
  install: string;
}

const apt = (pkg: string) => `apt-get install -y ${pkg}`;

/** Every program the demo may need, by the name it is reported as. */
export const BINARIES = {
  postgres: { name: 'postgres', path: `${PG_BIN_DIR}/postgres`, install: apt('postgresql-15') },
  initdb: { name: 'initdb', path: `${PG_BIN_DIR}/initdb`, install: apt('postgresql-15') },
  pg_dump: { name: 'pg_dump', path: `${PG_BIN_DIR}/pg_dump`, install: apt('postgresql-client-15') },
  pg_restore: { name: 'pg_restore', path: `${PG_BIN_DIR}/pg_restore`, install: apt('postgresql-client-15') },
  psql: { name: 'psql', path: `${PG_BIN_DIR}/psql`, install: apt('postgresql-client-15') },
  'redis-server': { name: 'redis-server', install: apt('redis-server') },
  'redis-cli': { name: 'redis-cli', install: apt('redis-tools') },
  'redis-check-rdb': { name: 'redis-check-rdb', install: apt('redis-tools') },
  mariadbd: { name: 'mariadbd', install: apt('mariadb-server') },
  'mariadb-install-db': { name: 'mariadb-install-db', install: apt('mariadb-server') },
  mariadb: { name: 'mariadb', install: apt('mariadb-client') },
  'mariadb-dump': { name: 'mariadb-dump', install: apt('mariadb-client') },
  mongodump: { name: 'mongodump', install: 'install the MongoDB Database Tools (https://www.mongodb.com/try/download/database-tools)' },
  mongorestore: { name: 'mongorestore', install: 'install the MongoDB Database Tools (https://www.mongodb.com/try/download/database-tools)' },
  mongosh: { name: 'mongosh', install: 'install mongosh (https://www.mongodb.com/try/download/shell)' },
  busybox: { name: 'busybox', install: apt('busybox') },
  dash: { name: 'dash', install: apt('dash') },
  unshare: { name: 'unshare', install: apt('util-linux') },
  runuser: { name: 'runuser', install: apt('util-linux') },
} as const satisfies Record<string, Binary>;

/** A name of BINARIES. */
export type BinaryName = keyof typeof BINARIES;

/** What every run needs: the stand-in runs commands with dash under unshare. */
const ALWAYS: readonly BinaryName[] = ['dash', 'unshare'];

/** The tools a job of each engine runs in the "container" (backup, self-check, drill). */
const ENGINE_TOOLS: Record<Engine, readonly BinaryName[]> = {
  postgres: ['pg_dump', 'pg_restore', 'psql'],
  redis: ['redis-cli', 'redis-check-rdb', 'redis-server'],
  mysql: ['mariadb', 'mariadb-dump'],
  mariadb: ['mariadb', 'mariadb-dump'],
  mongodb: ['mongodump', 'mongorestore', 'mongosh'],
};

/** The throwaway servers of the default demo and what seeds them (redis runs under busybox sh there). */
const DEFAULT_DEMO: readonly BinaryName[] = ['postgres', 'initdb', 'runuser', 'redis-server', 'mariadbd', 'mariadb-install-db', 'busybox'];

/** The programs a run needs: the default demo's servers and tools, or (`engines` given) the tools of a user config's engines. */
export function requiredBinaries(engines?: readonly Engine[]): BinaryName[] {
  const needed = engines === undefined
    ? [...ALWAYS, ...DEFAULT_DEMO, ...ENGINE_TOOLS.postgres, ...ENGINE_TOOLS.redis, ...ENGINE_TOOLS.mariadb]
    : [...ALWAYS, ...engines.flatMap((e) => ENGINE_TOOLS[e])];
  return [...new Set(needed)];
}

/** The error line for a missing program: what is missing and the one command that installs it. */
export function missingMessage(name: BinaryName): string {
  const b: Binary = BINARIES[name];
  const how = b.install.startsWith('apt-get ') ? `run ${b.install} (or: bash scripts/setup.sh)` : b.install;
  return `${name} is not installed: ${how}`;
}

/** The needed programs that `exists` does not find, in the order given. */
export function findMissing(names: readonly BinaryName[], exists: (b: Binary) => boolean): BinaryName[] {
  return names.filter((n) => !exists(BINARIES[n]));
}
