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

/**
 * The targets file's schema: the validated targets, under a key so the file can grow; with
 * `alarms.staleness: "fleet"` also each target's staleness limit (backupAgeLimitHours, measured at synth:
 * a cold start measuring hundreds of schedules again would spend seconds of CPU).
 */
const targetsFileSchema = z
  .strictObject({
    targets: z.array(targetSchema).min(1),
    ageLimitHours: z.record(z.string(), z.number().int().min(1)).optional(),
  })
  .superRefine((file, ctx) => {
    if (file.ageLimitHours === undefined) return;
    const names = file.targets.map((t) => t.name);
    for (const name of names) if (!(name in file.ageLimitHours)) ctx.addIssue({ code: 'custom', path: ['ageLimitHours'], message: `has no limit for target "${name}"` });
    for (const name of Object.keys(file.ageLimitHours)) if (!names.includes(name)) ctx.addIssue({ code: 'custom', path: ['ageLimitHours', name], message: 'is not a target' });
  });

/** What the stack packages with the function: the targets, and their staleness limits in fleet mode. */
export interface PackagedTargets {
  readonly targets: readonly Target[];
  /** Hours each target's newest backup may be old, by name; only with `alarms.staleness: "fleet"`. */
  readonly ageLimitHours?: Readonly<Record<string, number>>;
}

/** The content of the targets file for validated targets (and, in fleet mode, their staleness limits). */
export function serializeTargets(targets: readonly Target[], ageLimitHours?: Readonly<Record<string, number>>): string {
  return `${JSON.stringify({ targets, ...(ageLimitHours === undefined ? {} : { ageLimitHours }) })}\n`;
}

/** Reads and re-validates the targets file the stack packaged with the function; the error says what to do. */
export function readPackagedTargets(path: string): PackagedTargets {
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
  return parseWith(targetsFileSchema, json, `the targets file ${path}`);
}

/** The targets of the targets file (see {@link readPackagedTargets}). */
export function readTargetsFile(path: string): readonly Target[] {
  return readPackagedTargets(path).targets;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
