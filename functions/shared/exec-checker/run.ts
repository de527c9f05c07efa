import { execPlacement, type ExecPlacement } from '../config/target-mode.js';
import { loadConfigFile, resolveConfigPath } from '../config/load.js';
import type { BackupConfig, Target } from '../config/schema.js';
import { orchestratorFunctionName } from '../config/deployment-names.js';
import { runChecks } from './checks.js';
import { loadContext, type ContextInput } from './context.js';
import { UnknownTargetError } from './errors.js';
import { runProbe, type ExecRunner } from './probe.js';
import { orchestratorTask } from './resolve-task.js';
import type { CheckResult, Clients } from './types.js';


/** What the command line asked for, already checked for usage errors. */
export type CheckRequest =
  | { readonly kind: 'task'; readonly cluster: string; readonly task: string; readonly container?: string }
  | { readonly kind: 'target'; readonly target: string; readonly configPath?: string; readonly task?: string; readonly functionName?: string };

/** A finished run: report lines and notes for the reader. */
export interface CheckRun {
  readonly results: CheckResult[];
  readonly notes: string[];
}

/** Loads the backup config and the named target; UnknownTargetError when the target is not in it. */
export function loadTarget(name: string, configPath: string | undefined): { config: BackupConfig; target: Target; path: string } {
  const path = resolveConfigPath(configPath);
  const config = loadConfigFile(path);
  const target = config.targets.find((t) => t.name === name);
  if (target === undefined) {
    throw new UnknownTargetError(`target ${name} is not in ${path}: pass one of ${config.targets.map((t) => t.name).join(', ')}`);
  }
  return { config, target, path };
}

/** Resolves the task, runs pre-flight and every check, and (with `probe`) the live round trip. */
export async function runExecCheck(
  clients: Clients,
  request: CheckRequest,
  options: { probe?: ExecRunner; loaded?: { config: BackupConfig; target: Target } } = {},
): Promise<CheckRun> {
  const notes: string[] = [];
  let input: ContextInput;
  if (request.kind === 'task') {
    input = { cluster: request.cluster, task: request.task, container: request.container };
    notes.push('backup-path checks skipped: pass --target NAME to check the orchestrator, EFS and the backup mount');
  } else {
    const { config, target } = options.loaded ?? loadTarget(request.target, request.configPath);
    const placement = execPlacement(target);
    const task = request.task ?? (await orchestratorTask(clients.ecs, target.cluster, placement.service, placement.container));
    const functionName = request.functionName ?? orchestratorFunctionName(config.name);
    input = { cluster: target.cluster, task, container: placement.container, backup: { config, target, functionName } };
  }
  const loaded = await loadContext(clients, input);
  if (loaded.context === undefined) return { results: loaded.preflight, notes };
  const ctx = loaded.context;
  const results = [...loaded.preflight, ...(await runChecks(ctx))];
  if (options.probe !== undefined) {
    if (ctx.backup === undefined) {
      notes.push('--probe needs --target: it writes into the target\'s backupDir and asks the orchestrator to read it');
    } else {
      results.push(
        ...(await runProbe({
          exec: options.probe,
          lambda: clients.lambda,
          cluster: ctx.task.clusterArn ?? input.cluster,
          task: ctx.task.taskArn ?? input.task,
          ...pick(execPlacement(ctx.backup.target)),
          functionName: ctx.backup.functionName,
          target: ctx.backup.target.name,
        })),
      );
    }
  }
  return { results, notes };
}

function pick(p: ExecPlacement): { container: string; backupDir: string } {
  return { container: p.container, backupDir: p.backupDir };
}
