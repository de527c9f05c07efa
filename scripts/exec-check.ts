import { Command, CommanderError, Option } from 'commander';
import { ConfigError, errorMessage } from '../functions/shared/errors.js';
import { UnknownTargetError } from '../functions/shared/exec-checker/errors.js';
import type { ExecRunner } from '../functions/shared/exec-checker/probe.js';
import { exitCodeOf, formatReport, jsonReport, useColor } from '../functions/shared/exec-checker/report.js';
import type { CheckRequest } from '../functions/shared/exec-checker/run.js';
import type { Clients } from '../functions/shared/exec-checker/types.js';

/** Exit code for a bad command line. */
const USAGE = 2;

interface Options {
  cluster?: string;
  task?: string;
  container?: string;
  target?: string;
  config?: string;
  function?: string;
  region?: string;
  json?: boolean;
  probe?: boolean;
}

class UsageError extends Error {}

function program(): Command {
  return new Command('exec-check')
    .description('Diagnoses why ECS Exec (and the backup path) does not work for a task or a backup target.')
    .addOption(new Option('--cluster <name>', 'ECS cluster of the task'))
    .addOption(new Option('--task <id>', 'task ID or ARN (with --target: instead of the task the orchestrator would pick)'))
    .addOption(new Option('--container <name>', 'check only this container (with --cluster/--task)'))
    .addOption(new Option('--target <name>', 'backup target from the config: cluster, service, container and the backup-path checks'))
    .addOption(new Option('--config <path>', 'backup config file (default $BACKUP_CONFIG, then ./backup.config.json)'))
    .addOption(new Option('--function <name>', "orchestrator Lambda (default: <the config's name>-orchestrator)"))
    .addOption(new Option('--region <region>', 'AWS region (default: the config\'s region, then the SDK\'s)'))
    .option('--json', 'print a JSON report')
    .option('--probe', 'also run a live round trip: write a file in the container and have the orchestrator read it')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

function toRequest(o: Options): CheckRequest {
  if (o.target !== undefined) {
    if (o.cluster !== undefined || o.container !== undefined) throw new UsageError('--target takes cluster and container from the config: drop --cluster/--container');
    return { kind: 'target', target: o.target, configPath: o.config, task: o.task, functionName: o.function };
  }
  if (o.cluster !== undefined && o.task === undefined) throw new UsageError('--cluster needs --task T (or pass --target NAME instead)');
  if (o.task !== undefined && o.cluster === undefined) throw new UsageError('--task needs --cluster C (or pass --target NAME instead)');
  if (o.cluster === undefined || o.task === undefined) throw new UsageError('pass --cluster C --task T, or --target NAME');
  if (o.probe) throw new UsageError('--probe needs --target NAME');
  if (o.function !== undefined) throw new UsageError('--function needs --target NAME');
  return { kind: 'task', cluster: o.cluster, task: o.task, container: o.container };
}

async function execRunner(clients: Clients): Promise<ExecRunner> {
  // Loaded only for --probe: the checks themselves never open a session.
  const { EcsExec } = await import('../functions/shared/exec/exec-client.js');
  const { SSMClient } = await import('@aws-sdk/client-ssm');
  // SSM only ends a probe session that is left open; it uses the region the checks use.
  return new EcsExec({ ecs: clients.ecs, kms: clients.kms, ssm: new SSMClient({ region: clients.ecs.config.region }) });
}

async function main(argv: readonly string[]): Promise<number> {
  let options: Options;
  let request: CheckRequest;
  try {
    options = program().parse([...argv], { from: 'user' }).opts<Options>();
    request = toRequest(options);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE;
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    return USAGE;
  }
  try {
    // The SDK clients load only after the command line is known to be good: usage errors answer at once.
    const [{ createClients }, { loadTarget, runExecCheck }] = await Promise.all([
      import('../functions/shared/exec-checker/clients.js'),
      import('../functions/shared/exec-checker/run.js'),
    ]);
    const loaded = request.kind === 'target' ? loadTarget(request.target, request.configPath) : undefined;
    const clients = createClients(options.region ?? loaded?.config.region);
    const probe = options.probe ? await execRunner(clients) : undefined;
    const run = await runExecCheck(clients, request, { probe, loaded });
    process.stdout.write(
      options.json ? jsonReport(run.results, run.notes) : formatReport(run.results, { color: useColor(process.stdout.isTTY, process.env), notes: run.notes }),
    );
    return exitCodeOf(run.results);
  } catch (error) {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    return error instanceof UnknownTargetError || error instanceof ConfigError ? USAGE : 1;
  }
}

process.exit(await main(process.argv.slice(2)));
