import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod';
import { ConfigError, errorMessage } from '../errors.js';
import { configSchema, targetSchema, type BackupConfig, type Target } from './schema.js';

/** Environment variable naming the config file (the `--config` flag wins over it). */
export const CONFIG_PATH_ENV = 'BACKUP_CONFIG';
/** Config file used when neither flag nor environment variable names one. */
export const DEFAULT_CONFIG_PATH = 'backup.config.json';
/** Lambda environment variable carrying the validated targets (gzip + base64: Lambda's env is 4 KB). */
export const TARGETS_ENV = 'BACKUP_TARGETS_GZ';

/** Turns zod issues into `<json path>: <problem>` lines. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.length === 0 ? '(root)' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    return `${path}: ${issue.message}`;
  });
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = formatIssues(result.error.issues);
    throw new ConfigError(`${what} is invalid:\n  ${problems.join('\n  ')}`, problems);
  }
  return deepFreeze(result.data);
}

/** Validates an already-parsed config object; returns it frozen with defaults filled in. */
export function parseConfig(value: unknown, source = 'config'): BackupConfig {
  return parseWith(configSchema, value, source);
}

/** Reads, parses and validates the config file at `path`. */
export function loadConfigFile(path: string): BackupConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${errorMessage(error)}`, [], { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${errorMessage(error)}`, [], { cause: error });
  }
  return parseConfig(json, `config file ${path}`);
}

/** The config path: an explicit flag, else $BACKUP_CONFIG, else ./backup.config.json. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env[CONFIG_PATH_ENV] ?? DEFAULT_CONFIG_PATH;
}

/** Encodes validated targets for the Lambda environment. */
export function encodeTargets(targets: readonly Target[]): string {
  return gzipSync(JSON.stringify(targets)).toString('base64');
}

/** Decodes and re-validates the targets the infrastructure put into the Lambda environment. */
export function decodeTargets(encoded: string | undefined): readonly Target[] {
  if (encoded === undefined || encoded === '') {
    throw new ConfigError(`environment variable ${TARGETS_ENV} is missing: the function was deployed without targets`);
  }
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8'));
  } catch (error) {
    throw new ConfigError(`environment variable ${TARGETS_ENV} is not gzip+base64 JSON: ${errorMessage(error)}`, [], { cause: error });
  }
  return parseWith(z.array(targetSchema).min(1), json, `environment variable ${TARGETS_ENV}`);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
