import type { Engine, Target } from '../config/schema.js';
import { BackupError } from '../errors.js';

/**
 * The database secret in Secrets Manager, in the shape RDS-managed secrets and the seed-style ones have:
 * `{"username", "password", "host" (or "endpoint", optionally "host:port"), "port", "dbname", "engine"}`.
 * Parsing is pure and never puts a field's value into an error: only its name and what is wrong.
 */

/** A secret that cannot connect a dump: its message names the secret and the field. */
export class SecretFormatError extends BackupError {}

/** The JSON keys of the secret's fields. */
export const SECRET_FIELDS = { username: 'username', password: 'password', host: 'host', endpoint: 'endpoint', port: 'port', dbname: 'dbname', engine: 'engine' } as const;

/** What a dump needs from a secret; the password stays in Secrets Manager (the task gets it from ECS). */
export interface DbConnection {
  username: string;
  host: string;
  port: number | undefined;
  dbname: string | undefined;
  engine: Engine | undefined;
}

/** RDS, Aurora, DocumentDB and ElastiCache engine names, as secrets carry them, to this project's engines. */
const SECRET_ENGINES: Record<string, Engine> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  'aurora-postgresql': 'postgres',
  mysql: 'mysql',
  'aurora-mysql': 'mysql',
  aurora: 'mysql',
  mariadb: 'mariadb',
  redis: 'redis',
  valkey: 'redis',
  mongo: 'mongodb',
  mongodb: 'mongodb',
  docdb: 'mongodb',
};

// The same patterns the config schema holds host, user and database names to: these values reach a shell.
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}$/;
const DBNAME = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/;

/** Parses a SecretString; throws SecretFormatError naming `source` and the first bad field. */
export function parseDbSecret(secretString: string | undefined, source: string): DbConnection {
  const fail = (what: string): never => {
    throw new SecretFormatError(`secret ${source}: ${what}`);
  };
  if (secretString === undefined) fail('has no SecretString (binary secrets are not supported): store the JSON fields as text');
  let value: unknown;
  try {
    value = JSON.parse(secretString!);
  } catch {
    fail('is not JSON: store {"username", "password", "host", "port", "dbname"} as a JSON object');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('is not a JSON object of fields');
  const fields = value as Record<string, unknown>;
  const text = (name: string, required: boolean): string | undefined => {
    const v = fields[name];
    if (v === undefined || v === null || v === '') return required ? fail(`is missing the field "${name}"`) : undefined;
    if (typeof v !== 'string') return fail(`field "${name}" must be a string`);
    return v;
  };
  const username = text(SECRET_FIELDS.username, true)!;
  text(SECRET_FIELDS.password, true);
  if (!USER.test(username)) fail('field "username" must be 1-63 letters, digits, underscores, dots, @ or hyphens');
  const { host, port: endpointPort } = hostAndPort(fields, fail);
  const port = portOf(fields[SECRET_FIELDS.port], fail) ?? endpointPort;
  const dbname = text(SECRET_FIELDS.dbname, false);
  if (dbname !== undefined && !DBNAME.test(dbname)) fail('field "dbname" must be 1-63 letters, digits, underscores, hyphens or dollar signs');
  const engineName = text(SECRET_FIELDS.engine, false);
  const engine = engineName === undefined ? undefined : SECRET_ENGINES[engineName.toLowerCase()];
  if (engineName !== undefined && engine === undefined) fail(`field "engine" names an engine this tool does not dump (known: ${Object.keys(SECRET_ENGINES).join(', ')})`);
  return { username, host, port, dbname, engine };
}

function hostAndPort(fields: Record<string, unknown>, fail: (what: string) => never): { host: string; port: number | undefined } {
  const raw = fields[SECRET_FIELDS.host] ?? fields[SECRET_FIELDS.endpoint];
  if (raw === undefined || raw === null || raw === '') return fail('is missing the field "host" (or "endpoint")');
  if (typeof raw !== 'string') return fail('field "host" must be a string');
  const match = /^(.*?)(?::(\d{1,5}))?$/.exec(raw)!;
  const host = match[1]!;
  if (!HOST.test(host)) fail('field "host" must be a host name or IPv4 address');
  return { host, port: match[2] === undefined ? undefined : portOf(match[2], fail) };
}

function portOf(raw: unknown, fail: (what: string) => never): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail('field "port" must be a port number 1-65535');
  return n;
}

/**
 * The target as its job sees it: host, port, user and database from the secret, where the config does not set them
 * (the config's database wins: restores and drills are named after it). An engine in the secret must match.
 */
export function targetWithConnection(target: Target, connection: DbConnection, source: string): Target {
  if (connection.engine !== undefined && connection.engine !== target.engine && !(isMysqlFamily(connection.engine) && isMysqlFamily(target.engine))) {
    throw new SecretFormatError(`secret ${source}: field "engine" says ${connection.engine}, but target "${target.name}" is engine ${target.engine}`);
  }
  const database = target.database ?? connection.dbname;
  if (['postgres', 'mysql', 'mariadb'].includes(target.engine) && database === undefined) {
    throw new SecretFormatError(`secret ${source}: is missing the field "dbname", and target "${target.name}" names no database`);
  }
  return {
    ...target,
    host: connection.host,
    ...(connection.port !== undefined ? { port: connection.port } : {}),
    user: connection.username,
    ...(database !== undefined ? { database } : {}),
  };
}

function isMysqlFamily(engine: Engine): boolean {
  return engine === 'mysql' || engine === 'mariadb';
}
