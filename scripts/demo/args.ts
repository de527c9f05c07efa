import { Command, CommanderError } from 'commander';
import { BackupError } from '../../functions/shared/errors.js';

/** The demo's command line is wrong; the message names the argument. */
export class DemoUsageError extends BackupError {}

/** What the command line asks for. */
export type DemoArgs = { help: true; text: string } | { help: false; config?: string; small: boolean; tamper: boolean };

/** The one-line usage. */
export const DEMO_USAGE = 'usage: npm run demo [-- [--config FILE] [--small] [--tamper] [--help]]';

const DETAILS = `
Runs the whole backup path on this machine (as root): database servers, moto's S3 as the bucket, the
ECS/agent stand-in as ECS Exec, a temp directory as EFS, and the orchestrator's built Lambda bundle
invoked with the hourly EventBridge event until every target's backup is in the bucket. Then it
verifies every backup and prints a summary table. Everything it started is stopped at the end, also
on Ctrl-C.

Without --config: throwaway PostgreSQL 15, Redis 7 and MariaDB servers with sample data; each backup
is restored through the product's restore path (the restore CLI, via a Lambda Invoke stand-in) into
a fresh database (Redis: a fresh redis-server on the staged RDB) and compared with the live one.

With --config FILE: dry-runs your own settings against your own local servers before you deploy.
FILE is a backup config (the schema of examples/backup.config.json; see examples/demo-local.json).
Each target's host/port must reach a server on this machine; the target's passwordEnv variable must
be set in the demo's environment (the stand-in container gets it, as ECS would inject it). Your
databases are only read: each backup is checked with the product's restore drill, which restores it
into a scratch database (drill.scratchDatabase, default <database>_drill; Redis: a throwaway
server), compares the counts with the manifest, and drops it. Example:
  PGPASSWORD=secret MARIADB_PASSWORD=secret npm run demo -- --config examples/demo-local.json

Exit status: 0 every backup verified, 1 a failure or a backup not verified, 2 a usage error.
`;

function program(out: (s: string) => void): Command {
  return new Command('npm run demo --')
    .usage('[--config FILE] [--small] [--tamper] [--help]')
    .description('The local demo: backups through the real orchestrator bundle, verified.')
    .addHelpText('after', DETAILS)
    .option('--config <file>', 'back up your own local servers as FILE configures them')
    .option('--small', 'a few rows of sample data only (for CI)')
    .option('--tamper', 'change the sample data after the backups: every check fails (exit 1)')
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: () => undefined });
}

/** Parses the arguments after `npm run demo --`; throws DemoUsageError naming an unknown option or argument. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let text = '';
  const cmd = program((s) => (text += s));
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') return { help: true, text };
    if (error instanceof CommanderError) throw new DemoUsageError(error.message.replace(/^error: /, ''), { cause: error });
    throw error;
  }
  if (cmd.args.length > 0) throw new DemoUsageError(`unexpected argument '${cmd.args[0]!}': the demo takes only options`);
  const opts = cmd.opts<{ config?: string; small?: boolean; tamper?: boolean }>();
  const o = { config: opts.config, small: opts.small === true, tamper: opts.tamper === true };
  if (o.config !== undefined && (o.small || o.tamper)) {
    throw new DemoUsageError(`${o.tamper ? '--tamper' : '--small'} is for the sample databases and cannot be used with --config${o.tamper ? ': it would change your data' : ''}`);
  }
  return { help: false, small: o.small, tamper: o.tamper, ...(o.config !== undefined ? { config: o.config } : {}) };
}
