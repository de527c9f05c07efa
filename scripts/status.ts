import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { Command, CommanderError, Option } from 'commander';
import { pathToFileURL } from 'node:url';
import { loadConfigFile, resolveConfigPath } from '../functions/shared/config/load.js';
import { orchestratorFunctionName } from '../functions/shared/config/deployment-names.js';
import type { BackupConfig } from '../functions/shared/config/schema.js';
import { errorMessage } from '../functions/shared/errors.js';
import { UsageError, USAGE_EXIT } from './restore.js';
import { assessTarget, type TargetStatus } from './status/assess.js';
import { collectFacts, type StatusClients } from './status/collect.js';
import { colourWanted, formatHistory, formatStatusTable } from './status/render.js';

/**
 * `npm run status -- [--target NAME] [--json] [--config PATH] [--region R] [--function NAME]`: are the
 * backups fine? One row per target (last backup, size and trend, dump and upload time, next due time,
 * current run, last drill, health word), or one target's week of backups. Exit 0 when every target shown
 * is healthy, 1 when one is not (or S3 cannot be read), 2 for a bad command line.
 */

/** Parsed options. */
export interface StatusCliOptions {
  target?: string;
  json: boolean;
  config?: string;
  region?: string;
  /** Orchestrator Lambda; default: the config's deployment's (`<name>-orchestrator`). */
  function?: string;
}

/** Where the command writes (replaced in tests). */
export interface StatusIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (colours). */
  isTerminal: boolean;
  env: NodeJS.ProcessEnv;
  now(): Date;
}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;

/** Parses the command line; throws UsageError (or CommanderError for help and commander's own errors). */
export function parseStatusArgs(argv: readonly string[], io: Pick<StatusIo, 'out' | 'err'>): StatusCliOptions {
  const o = new Command('status')
    .description('Shows, per backup target, the last backup, its trend, the current run, the last drill and a health word.')
    .option('--target <name>', "one target's week: every weekday key and its older versions")
    .option('--json', 'print JSON instead of a table', false)
    .addOption(new Option('--config <path>', 'backup config file (default $BACKUP_CONFIG, then ./backup.config.json)'))
    .addOption(new Option('--region <region>', "AWS region of the bucket and the orchestrator (default: the config's)"))
    .addOption(new Option('--function <name>', "orchestrator Lambda (default: <the config's name>-orchestrator)"))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .parse([...argv], { from: 'user' })
    .opts<StatusCliOptions>();
  if (o.region !== undefined && !REGION.test(o.region)) throw new UsageError(`--region must be an AWS region like "eu-west-1", got "${o.region}"`);
  return o;
}

function defaultClients(region: string): StatusClients {
  // The SDK reads AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3 itself; path-style only for S3 stand-ins.
  return {
    lambda: new LambdaClient({ region }),
    s3: new S3Client({ region, ...(process.env.S3_FORCE_PATH_STYLE === '1' ? { forcePathStyle: true } : {}) }),
  };
}

function load(o: StatusCliOptions): BackupConfig {
  const config = loadConfigFile(resolveConfigPath(o.config));
  if (o.target !== undefined && !config.targets.some((t) => t.name === o.target)) {
    throw new UsageError(`unknown target "${o.target}": the config has ${config.targets.map((t) => t.name).join(', ')}`);
  }
  return config;
}

async function report(config: BackupConfig, o: StatusCliOptions, io: StatusIo, sdk: StatusClients): Promise<TargetStatus[]> {
  const targets = config.targets.filter((t) => o.target === undefined || t.name === o.target);
  const facts = await collectFacts(config, targets, sdk, o.function ?? orchestratorFunctionName(config.name));
  const now = io.now();
  const statuses = facts.map((f) => assessTarget(f, now));
  const colour = !o.json && colourWanted(io.isTerminal, io.env);
  if (o.target !== undefined) {
    const [status] = statuses;
    const history = facts[0]!.listings;
    io.out(o.json ? `${JSON.stringify({ generatedAt: now.toISOString(), status, history }, null, 2)}\n` : `${formatHistory(status!, history, colour)}\n${formatStatusTable(statuses, colour)}`);
  } else {
    io.out(o.json ? `${JSON.stringify({ generatedAt: now.toISOString(), healthy: statuses.every((s) => s.healthy), targets: statuses }, null, 2)}\n` : formatStatusTable(statuses, colour));
  }
  const errors = new Set(facts.flatMap((f) => (f.runState === null && f.runStateError ? [f.runStateError] : [])));
  for (const e of errors) io.err(`warning: run state unavailable: ${e}\n`);
  return statuses;
}

/** The whole command; resolves to the exit code (0 all healthy, 1 some unhealthy or an error, 2 usage error). */
export async function main(argv: readonly string[], io: StatusIo, clients?: (region: string) => StatusClients): Promise<number> {
  let o: StatusCliOptions;
  let config: BackupConfig;
  try {
    o = parseStatusArgs(argv, io);
    config = load(o);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
    io.err(`error: ${errorMessage(error)}\n`);
    return USAGE_EXIT;
  }
  const sdk = (clients ?? defaultClients)(o.region ?? config.region);
  try {
    const statuses = await report(config, o, io, sdk);
    return statuses.every((s) => s.healthy) ? 0 : 1;
  } catch (error) {
    io.err(`error: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    sdk.lambda.destroy();
    sdk.s3.destroy();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const io: StatusIo = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTerminal: process.stdout.isTTY === true,
    env: process.env,
    now: () => new Date(),
  };
  main(process.argv.slice(2), io).then((code) => process.exit(code));
}
