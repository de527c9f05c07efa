import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { Command, CommanderError, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { pathToFileURL } from 'node:url';
import { listBackups, type BackupListing } from '../functions/shared/adapters/s3-backups.js';
import { loadConfigFile, resolveConfigPath } from '../functions/shared/config/load.js';
import { orchestratorFunctionName } from '../functions/shared/config/deployment-names.js';
import type { BackupConfig, Target } from '../functions/shared/config/schema.js';
import { mayBeSameDatabase } from '../functions/shared/core/same-database.js';
import { WEEKDAYS } from '../functions/shared/core/s3-keys.js';
import { BackupError, errorMessage } from '../functions/shared/errors.js';
import type { BackupSelector, RestoreRequest } from '../functions/orchestrator/restore/restore-request.js';
import type { JobOutcome } from '../functions/orchestrator/restore/restore-state.js';
import { snapshotMain } from './restore/snapshot-cli.js';

/**
 * `npm run restore -- --target NAME [--list] [--region R] [--backup monday|latest | --version-id V] [--into DB]
 * [--overwrite] [--yes] [--verify] [--function NAME] [--config PATH]`: lists a target's backups from S3, or
 * restores one by invoking the orchestrator Lambda and polling it until the restore ends. Replacing a
 * live database needs --overwrite and a typed confirmation (or --yes for automation). `--region` with the replica's
 * region lists, or restores from, the replica bucket (`replication`) instead of the deployment's.
 * With `--snapshot`, restores AWS Backup snapshots instead (scripts/restore/snapshot-cli.ts).
 */

/** Exit code of a bad command line. */
export const USAGE_EXIT = 2;

/** The command line is wrong; the message says how to fix it. */
export class UsageError extends BackupError {}
/** The restore was refused or failed; nothing more to do here. */
export class RestoreCliError extends BackupError {}

/** Parsed options. */
export interface RestoreCliOptions {
  target: string;
  list: boolean;
  backup?: string;
  versionId?: string;
  into?: string;
  overwrite: boolean;
  verify: boolean;
  yes: boolean;
  /** Orchestrator Lambda; default: the config's deployment's (`<name>-orchestrator`). */
  function?: string;
  config?: string;
  /** List or restore from the bucket of this region: the deployment's, or the replica's (`replication.region`). */
  region?: string;
  pollSeconds: number;
}

/** The terminal the CLI talks to (replaced in tests). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether a person can answer a question (stdin and stderr are terminals). */
  interactive: boolean;
  ask(question: string): Promise<string>;
  sleep(ms: number): Promise<void>;
}

/** SDK clients (replaced in tests). */
export interface CliClients {
  lambda: LambdaClient;
  s3: S3Client;
}

function program(io: CliIo): Command {
  return new Command('restore')
    .description('Lists the backups of a target, or restores one through the orchestrator Lambda.')
    // checked after parsing, so an unknown option is reported as such rather than as a missing --target
    .option('--target <name>', 'backup target from the config (required)')
    .option('--list', 'list the backups (every kept version) and exit', false)
    .addOption(new Option('--backup <which>', `weekday (${WEEKDAYS.join(', ')}) or "latest"`))
    .addOption(new Option('--version-id <id>', 'S3 version id of the backup object (see --list)'))
    .addOption(new Option('--into <database>', "restore into this database instead of the target's own"))
    .option('--overwrite', "allow replacing the data of the database restored into (the target's own by default)", false)
    .option('--yes', 'confirm --overwrite without asking (automation)', false)
    .option('--verify', "compare the restored tables' content with the backup's (SQL engines; reads the data once more)", false)
    .addOption(new Option('--function <name>', "orchestrator Lambda (default: <the config's name>-orchestrator)"))
    .addOption(new Option('--config <path>', 'backup config file (default $BACKUP_CONFIG, then ./backup.config.json)'))
    .addOption(new Option('--region <region>', "list or restore from the bucket of this region (the replica's: replication.region)"))
    .addOption(new Option('--poll-seconds <n>', 'seconds between progress polls').default('5'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
}

/** Parses the command line; throws UsageError (or CommanderError for help and commander's own errors). */
export function parseArgs(argv: readonly string[], io: CliIo): RestoreCliOptions {
  const o = program(io).parse([...argv], { from: 'user' }).opts<Omit<RestoreCliOptions, 'pollSeconds'> & { pollSeconds: string }>();
  if (o.target === undefined) throw new UsageError("required option '--target <name>' not specified");
  const pollSeconds = Number(o.pollSeconds);
  if (!Number.isFinite(pollSeconds) || pollSeconds < 0 || pollSeconds > 600) throw new UsageError(`--poll-seconds must be 0-600, got "${o.pollSeconds}"`);
  if (o.backup !== undefined && o.versionId !== undefined) throw new UsageError('pass either --backup or --version-id, not both');
  if (o.backup !== undefined && !([...WEEKDAYS, 'latest'] as string[]).includes(o.backup)) {
    throw new UsageError(`--backup must be a weekday (${WEEKDAYS.join(', ')}) or "latest", got "${o.backup}"`);
  }
  if (o.list && (o.backup !== undefined || o.versionId !== undefined || o.into !== undefined || o.overwrite || o.verify)) {
    throw new UsageError('--list only lists: drop --backup, --version-id, --into, --overwrite and --verify');
  }
  return { ...o, pollSeconds };
}

/** The bucket and region a listing or restore reads: the deployment's, or with `region` the replica's. */
export function listedBucket(config: BackupConfig, region: string | undefined): { bucket: string; region: string } {
  if (region === undefined || region === config.region) return { bucket: config.bucket.name, region: config.region };
  if (config.replication !== undefined && region === config.replication.region) return { bucket: config.replication.bucketName, region };
  const regions = [config.region, ...(config.replication ? [config.replication.region] : [])];
  throw new UsageError(`--region must be ${regions.join(' or ')} (the bucket's${config.replication ? " or the replica's" : ''} region), got "${region}"`);
}

/** The backup the options choose (default: the newest). */
export function selectorOf(o: Pick<RestoreCliOptions, 'backup' | 'versionId'>): BackupSelector {
  if (o.versionId !== undefined) return { versionId: o.versionId };
  return (o.backup ?? 'latest') as BackupSelector;
}

/** What a restore replaces: null when it only creates new data; otherwise the name the user must type to confirm. */
export function overwrittenName(target: Target, o: Pick<RestoreCliOptions, 'into' | 'overwrite'>): string | null {
  if (target.engine === 'redis') return o.overwrite ? target.name : null;
  const live = o.into === undefined || (target.database !== undefined && mayBeSameDatabase(target.engine, o.into, target.database));
  if (!live && !o.overwrite) return null;
  return o.into ?? target.database ?? target.name;
}

/** Refuses (throws) unless replacing data was asked for with --overwrite and confirmed by typing the name or --yes. */
export async function confirmRestore(target: Target, o: RestoreCliOptions, io: CliIo): Promise<void> {
  const name = overwrittenName(target, o);
  if (name === null) return;
  if (!o.overwrite) {
    const same = name === target.database ? `the live database "${name}"` : `"${name}", which the ${target.engine} server may take for the live database "${target.database}",`;
    throw new UsageError(`restoring into ${same} of target "${target.name}" would replace its data: restore into another database with --into NAME, or pass --overwrite`);
  }
  if (o.yes) return;
  if (!io.interactive) {
    throw new RestoreCliError(`refusing to overwrite "${name}" without a confirmation: no terminal to ask on; pass --yes to confirm in automation`);
  }
  const answer = await io.ask(`This replaces the data of "${name}" (target "${target.name}"). Type ${name} to confirm: `);
  if (answer.trim() !== name) throw new RestoreCliError(`the confirmation "${answer.trim()}" does not match "${name}"; nothing was restored`);
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}

/** The listing as a table: weekday, size, upload time, version id, and which one "latest" picks. */
export function formatListing(listings: readonly BackupListing[]): string {
  if (listings.length === 0) return 'no backups\n';
  const newest = listings
    .filter((l) => l.isLatest && l.manifest)
    .reduce<BackupListing | null>((a, l) => (a && Date.parse(a.manifest!.uploadedAt) >= Date.parse(l.manifest!.uploadedAt) ? a : l), null);
  const rows = listings.map((l) => [
    l.weekday,
    mib(l.size),
    (l.manifest?.uploadedAt ?? l.lastModified.toISOString()).replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    l.versionId ?? '-',
    [l.isLatest ? 'current' : 'older', l === newest ? 'latest' : '', l.manifest ? '' : 'no manifest: cannot be verified'].filter(Boolean).join(', '),
  ]);
  const all = [['WEEKDAY', 'SIZE', 'UPLOADED', 'VERSION ID', ''], ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return `${all.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

/** One progress line of a running restore. */
export function formatProgress(o: JobOutcome): string {
  const p = o.progress;
  if (o.phase === 'downloading' && p) return `downloading ${o.source?.key ?? ''}: ${mib(p.bytesDownloaded)} of ${mib(p.bytesTotal)}`;
  if (o.phase === 'running') return `restore job running in the container${p?.runningSeconds !== undefined ? ` (${p.runningSeconds} s)` : ''}`;
  return `${o.outcome}${o.reason ? `: ${o.reason}` : ''}`;
}

async function invoke(lambda: LambdaClient, functionName: string, request: RestoreRequest): Promise<JobOutcome> {
  const res = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(request)) }));
  const text = res.Payload ? Buffer.from(res.Payload).toString('utf8') : 'null';
  if (res.FunctionError) {
    let message = text;
    try {
      message = String((JSON.parse(text) as { errorMessage?: unknown }).errorMessage ?? text);
    } catch {
      // not JSON: show it as it is
    }
    throw new RestoreCliError(`the orchestrator answered with an error: ${message}`);
  }
  const answer = JSON.parse(text) as { action?: string; result?: JobOutcome };
  if (answer.action !== 'restore' || !answer.result) throw new RestoreCliError(`unexpected answer from ${functionName}: ${text.slice(0, 300)}`);
  return answer.result;
}

/**
 * Starts the restore and polls until it ends; resolves to the final outcome (throws when it failed). `from`: the replica
 * bucket to read (the orchestrator accepts only the one its stack configured).
 */
export async function restoreAndWait(
  lambda: LambdaClient,
  o: RestoreCliOptions & { function: string; from?: { bucket: string; region: string } },
  io: CliIo,
): Promise<JobOutcome> {
  const request: RestoreRequest = {
    action: 'restore',
    target: o.target,
    backup: selectorOf(o),
    ...(o.into !== undefined ? { intoDatabase: o.into } : {}),
    overwrite: o.overwrite,
    verify: o.verify,
    ...(o.from !== undefined ? { from: o.from } : {}),
  };
  let outcome = await invoke(lambda, o.function, request);
  if (outcome.outcome === 'busy') throw new RestoreCliError(`target "${o.target}" is busy: ${outcome.reason ?? 'another run holds its lock'}; try again later`);
  const runId = outcome.runId;
  if (!runId) throw new RestoreCliError(`the orchestrator started no restore: ${outcome.reason ?? outcome.outcome}`);
  const bucket = outcome.source?.bucket !== undefined ? ` from s3://${outcome.source.bucket}` : '';
  io.err(`restore ${runId} of ${outcome.source?.key ?? o.target}${outcome.source?.versionId ? ` (version ${outcome.source.versionId})` : ''}${bucket} into ${outcome.database ?? '(staged file)'}\n`);
  let last = '';
  while (outcome.outcome === 'started' || outcome.outcome === 'waiting' || outcome.outcome === 'busy') {
    const line = formatProgress(outcome);
    if (line !== last) io.err(`${line}\n`);
    last = line;
    await io.sleep(o.pollSeconds * 1000);
    outcome = await invoke(lambda, o.function, { ...request, runId });
  }
  if (outcome.outcome !== 'succeeded') throw new RestoreCliError(`restore ${runId} failed: ${outcome.reason ?? outcome.outcome}${outcome.note ? `\n${outcome.note}` : ''}`);
  return outcome;
}

function loadTarget(o: RestoreCliOptions): { config: BackupConfig; target: Target } {
  const config = loadConfigFile(resolveConfigPath(o.config));
  const target = config.targets.find((t) => t.name === o.target);
  if (!target) throw new UsageError(`unknown target "${o.target}": the config has ${config.targets.map((t) => t.name).join(', ')}`);
  return { config, target };
}

function defaultClients(config: BackupConfig, s3Region: string = config.region): CliClients {
  // The SDK reads AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3 itself; path-style only for S3 stand-ins.
  return {
    lambda: new LambdaClient({ region: config.region }),
    s3: new S3Client({ region: s3Region, ...(process.env.S3_FORCE_PATH_STYLE === '1' ? { forcePathStyle: true } : {}) }),
  };
}

/** The whole command; resolves to the exit code (0 done, 1 failed or refused, 2 usage error). */
export async function main(argv: readonly string[], io: CliIo, clients?: (config: BackupConfig, s3Region: string) => CliClients): Promise<number> {
  // Snapshots (AWS Backup) have their own options and clients: scripts/restore/snapshot-cli.ts.
  if (argv.includes('--snapshot')) return snapshotMain(argv, io);
  let o: RestoreCliOptions;
  let loaded: { config: BackupConfig; target: Target };
  let listed: { bucket: string; region: string };
  try {
    o = parseArgs(argv, io);
    loaded = loadTarget(o);
    listed = listedBucket(loaded.config, o.region);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
    io.err(`error: ${errorMessage(error)}\n`);
    return USAGE_EXIT;
  }
  const sdk = (clients ?? defaultClients)(loaded.config, listed.region);
  try {
    if (o.list) {
      io.out(formatListing(await listBackups(sdk.s3, listed.bucket, loaded.config.keyPrefix, o.target, { includeVersions: true })));
      return 0;
    }
    await confirmRestore(loaded.target, o, io);
    // The orchestrator runs in the deployment's region; it reads the replica itself.
    const from = listed.region === loaded.config.region ? {} : { from: listed };
    const done = await restoreAndWait(sdk.lambda, { ...o, function: o.function ?? orchestratorFunctionName(loaded.config.name), ...from }, io);
    io.out(`restored ${done.source?.key ?? ''}${done.source?.versionId ? ` (version ${done.source.versionId})` : ''} into ${done.database ?? o.target} (run ${done.runId})\n`);
    if (done.note) io.out(`${done.note}\n`);
    return 0;
  } catch (error) {
    io.err(`error: ${errorMessage(error)}\n`);
    return error instanceof UsageError ? USAGE_EXIT : 1;
  } finally {
    sdk.lambda.destroy();
    sdk.s3.destroy();
  }
}

function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), processIo()).then((code) => process.exit(code));
}
