import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { ConfigError, errorMessage } from '../errors.js';
import { configSchema, targetSchema, type BackupConfig, type Target } from './schema.js';

/** Environment variable naming the config file (the `--config` flag wins over it). */
export const CONFIG_PATH_ENV = 'BACKUP_CONFIG';
/** Config file used when neither flag nor environment variable names one. */
export const DEFAULT_CONFIG_PATH = 'backup.config.json';
/**
 * Lambda environment variable naming the file of validated targets that ships inside the function's
 * code asset (relative to the code directory, $LAMBDA_TASK_ROOT). In the code rather than the
 * environment (4 KB for all variables) so hundreds of targets fit; see modules/orchestrator-asset.ts
 * for why not SSM or S3.
 */
export const TARGETS_FILE_ENV = 'BACKUP_TARGETS_FILE';
/** Name of that file in the code asset. */
export const TARGETS_FILE_NAME = 'backup-targets.json';

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

/** The targets file's schema: the validated targets, under a key so the file can grow. */
const targetsFileSchema = z.strictObject({ targets: z.array(targetSchema).min(1) });

/** The content of the targets file for validated targets. */
export function serializeTargets(targets: readonly Target[]): string {
  return `${JSON.stringify({ targets })}\n`;
}

/** Reads and re-validates the targets file the stack packaged with the function; the error says what to do. */
export function readTargetsFile(path: string): readonly Target[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the targets file ${path}: ${errorMessage(error)}: redeploy the stack, which packages it with the function`, [], { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the targets file ${path} is not valid JSON: ${errorMessage(error)}: redeploy the stack`, [], { cause: error });
  }
  return parseWith(targetsFileSchema, json, `the targets file ${path}`).targets;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
