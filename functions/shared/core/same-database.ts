import type { Engine } from '../config/schema.js';

/**
 * Whether two database names may name one database on the server, decided without asking it (the Lambda cannot
 * reach the server; the job asks the server itself again before it creates or drops anything). It errs towards
 * "the same": MySQL/MariaDB fold case when lower_case_table_names is 1 or 2, MongoDB refuses names that differ only in
 * case, PostgreSQL compares names as type `name` (cut at 63 bytes). Pure.
 */

/** NAMEDATALEN - 1 of a stock PostgreSQL build: longer names are cut to this many bytes. */
const PG_NAME_BYTES = 63;

/** Whether the server could take `a` and `b` for the same database. */
export function mayBeSameDatabase(engine: Engine, a: string, b: string): boolean {
  switch (engine) {
    case 'postgres':
      return Buffer.from(a).subarray(0, PG_NAME_BYTES).equals(Buffer.from(b).subarray(0, PG_NAME_BYTES));
    case 'mysql':
    case 'mariadb':
    case 'mongodb':
      return a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase();
    case 'redis':
      return a === b;
  }
}
