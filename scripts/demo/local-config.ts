import { execTargets } from '../../functions/shared/config/target-mode.js';
import type { BackupConfig, Engine } from '../../functions/shared/config/schema.js';
import { ConfigError } from '../../functions/shared/errors.js';

/**
 * `--config FILE`: the stand-in tasks that play the user's ECS services. Each target's service and
 * container are named as in the config, and the container's environment gets the target's secret
 * variable (passwordEnv) from the demo's own environment, as ECS would inject it. Pure.
 */

/** One stand-in container: its secret variables and where each target's EFS directory is mounted in it. */
export interface PlannedContainer {
  name: string;
  env: Record<string, string>;
  /** Container path → the target whose directory (its access point) is mounted there. */
  backupDirs: Record<string, string>;
}

/** One stand-in task of a service. */
export interface PlannedTask {
  cluster: string;
  service: string;
  containers: PlannedContainer[];
}

/** The stand-in tasks for a config's targets; throws ConfigError naming every target whose secret variable is not set in `env`. */
export function planLocalTasks(config: Pick<BackupConfig, 'targets'>, env: Readonly<Record<string, string | undefined>>): PlannedTask[] {
  const missing = config.targets
    .filter((t) => t.passwordEnv !== undefined && env[t.passwordEnv] === undefined)
    .map((t) => `target "${t.name}" reads its password from ${t.passwordEnv}, which is not set: export ${t.passwordEnv}=... before running the demo`);
  if (missing.length > 0) throw new ConfigError(missing.join('\nerror: '), missing);
  const tasks: PlannedTask[] = [];
  for (const t of execTargets(config.targets)) {
    let task = tasks.find((k) => k.cluster === t.cluster && k.service === t.service);
    if (!task) tasks.push((task = { cluster: t.cluster, service: t.service, containers: [] }));
    let container = task.containers.find((c) => c.name === t.container);
    if (!container) task.containers.push((container = { name: t.container, env: {}, backupDirs: {} }));
    if (t.passwordEnv !== undefined) container.env[t.passwordEnv] = env[t.passwordEnv]!;
    const other = container.backupDirs[t.backupDir];
    if (other !== undefined) {
      throw new ConfigError(`targets "${other}" and "${t.name}" both use ${t.backupDir} in container ${t.container}: each target mounts its own access point, so give each its own backupDir`);
    }
    container.backupDirs[t.backupDir] = t.name;
  }
  return tasks;
}

/** The engines a config uses, each once. */
export function enginesOf(config: Pick<BackupConfig, 'targets'>): Engine[] {
  return [...new Set(config.targets.map((t) => t.engine))];
}
