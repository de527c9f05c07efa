import { ConfigError } from '../errors.js';
import { TASK_BACKUP_DIR, type Target } from './schema.js';

/** Where an exec target's dump runs: its service, the container and the container's backup mount. */
export interface ExecPlacement {
  service: string;
  container: string;
  backupDir: string;
}

/** The exec placement of a target; throws ConfigError for a mode "task" target (the schema makes exec ones complete). */
export function execPlacement(target: Target): ExecPlacement {
  if (target.mode !== 'exec' || target.service === undefined || target.container === undefined || target.backupDir === undefined) {
    throw new ConfigError(`target "${target.name}" is a mode "${target.mode}" target: it has no service and container to exec into`);
  }
  return { service: target.service, container: target.container, backupDir: target.backupDir };
}

/** The targets of mode "exec", with their placement. */
export function execTargets(targets: readonly Target[]): (Target & ExecPlacement)[] {
  return targets.filter((t) => t.mode === 'exec').map((t) => ({ ...t, ...execPlacement(t) }));
}

/** The directory the job's container sees the backup EFS at: the exec target's backupDir, or the runner task's mount. */
export function containerBackupDir(target: Target): string {
  return target.mode === 'task' ? TASK_BACKUP_DIR : execPlacement(target).backupDir;
}
