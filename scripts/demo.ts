/**
 * `npm run demo [-- --config FILE] [--small] [--tamper]`: the whole backup path on this machine, with real parts
 * wherever they can run here. Database servers on loopback (throwaway ones with sample data, or with
 * --config the user's own), moto's S3 as the bucket, the ECS/agent stand-in as ECS Exec (commands really
 * run under a pty, in a mount namespace where the "container's" backup dir is a temp directory standing
 * for EFS), and the orchestrator as its built Lambda bundle invoked with the hourly EventBridge event.
 * Every backup is then verified (restored and compared; with --config by the product's drill) and a
 * summary table printed. Needs root (mount namespaces). Everything started is stopped at the end, also
 * on Ctrl-C or SIGTERM. Exit 0: every backup verified; 1: a failure; 2: a usage error.
 */
import { loadConfigFile } from '../functions/shared/config/load.js';
import type { BackupConfig } from '../functions/shared/config/schema.js';
import { errorMessage } from '../functions/shared/errors.js';
import { DEMO_USAGE, DemoUsageError, parseDemoArgs } from './demo/args.js';
import { requiredBinaries } from './demo/binaries.js';
import { runDefaultDemo } from './demo/default-demo.js';
import { createLifecycle, type Lifecycle } from './demo/lifecycle.js';
import { enginesOf, planLocalTasks, type PlannedTask } from './demo/local-config.js';
import { runLocalDemo } from './demo/local-demo.js';
import { checkBinaries } from './demo/preflight.js';
import { allVerified, formatSummary, VERIFIED_NOTES, type SummaryRow } from './demo/summary-table.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(message: string, code: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

/** Everything that can be wrong before anything starts: the command line, root, the config and its secrets, the binaries. */
function prepare(argv: readonly string[]): { small: boolean; tamper: boolean; local: { config: BackupConfig; tasks: PlannedTask[] } | null } {
  let args;
  try {
    args = parseDemoArgs(argv);
  } catch (error) {
    if (error instanceof DemoUsageError) fail(`${error.message}\n${DEMO_USAGE}`, 2);
    throw error;
  }
  if (args.help) {
    process.stdout.write(args.text);
    process.exit(0);
  }
  let local: { config: BackupConfig; tasks: PlannedTask[] } | null = null;
  try {
    if (args.config !== undefined) {
      const config = loadConfigFile(args.config);
      local = { config, tasks: planLocalTasks(config, process.env) };
    }
    checkBinaries(requiredBinaries(local ? enginesOf(local.config) : undefined));
  } catch (error) {
    fail(errorMessage(error), 1);
  }
  if (process.getuid?.() !== 0) fail('the demo needs root (the ECS stand-in runs commands in mount namespaces): run it as root, e.g. sudo npm run demo', 1);
  return { small: args.small, tamper: args.tamper, local };
}

async function main(life: Lifecycle, opts: { small: boolean; tamper: boolean }, local: { config: BackupConfig; tasks: PlannedTask[] } | null): Promise<number> {
  say(`ecs-db-backup local demo${local ? ` of ${local.config.targets.length} target(s) from your config` : ''} (temp dir ${life.root})`);
  const ctx = { life, say, ...opts };
  const rows: SummaryRow[] = local ? await runLocalDemo(ctx, local.config, local.tasks) : await runDefaultDemo(ctx);
  say('');
  say('summary');
  say(formatSummary(rows, [local ? VERIFIED_NOTES.drill : VERIFIED_NOTES.restore]));
  const ok = allVerified(rows);
  say('');
  say(ok ? `demo finished: ${rows.length} backups made, uploaded, restored and verified` : `demo finished: ${rows.filter((r) => r.verdict.verified === 'yes').length} of ${rows.length} backups verified`);
  return ok ? 0 : 1;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { small, tamper, local } = prepare(process.argv.slice(2));
const life = createLifecycle();
let signalled: number | undefined;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    if (signalled !== undefined) return;
    signalled = code;
    process.stderr.write(`error: ${signal}: stopping everything the demo started\n`);
    void life.stopAll();
  });
}
main(life, { small, tamper }, local)
  .then(
    (code) => code,
    (error: unknown) => {
      if (signalled === undefined) process.stderr.write(`error: ${errorMessage(error)}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    const leftovers = await life.stopAll();
    for (const l of leftovers) process.stderr.write(`warning: killed a leftover process: ${l}\n`);
    process.exit(signalled ?? code);
  });
