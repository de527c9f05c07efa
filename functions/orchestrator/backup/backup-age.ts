import { lastSuccessfulBackup } from '../../shared/adapters/s3-backups.js';
import type { Target } from '../../shared/config/schema.js';
import type { ObservedAge } from '../../shared/core/fleet-staleness.js';
import { errorMessage } from '../../shared/errors.js';
import type { Deps } from '../deps.js';

/**
 * Reports the age of a target's newest verified backup as the BackupAgeHours metric, once per scheduled
 * invocation. Its staleness alarm compares it with a limit derived from the target's schedule (a weekly
 * target may be a week old); a target without any backup, or whose age cannot be read, reports nothing,
 * and missing data is what that alarm treats as stale. Returns what it saw, for the fleet-level count.
 */
export async function reportBackupAge(deps: Deps, target: Target): Promise<ObservedAge> {
  try {
    const last = await lastSuccessfulBackup(deps.s3, deps.env.bucket, deps.env.keyPrefix, target.name);
    if (last === null) {
      deps.telemetry.logger.info('no verified backup yet: no BackupAgeHours reported, so the staleness alarm fires', { target: target.name });
      return { kind: 'none' };
    }
    const hours = Math.max(0, (deps.now().getTime() - Date.parse(last.startedAt)) / 3_600_000);
    deps.telemetry.emit(target.name, { BackupAgeHours: hours });
    return { kind: 'age', hours };
  } catch (error) {
    deps.telemetry.logger.warn(`cannot tell the age of the newest backup: ${errorMessage(error)}`, { target: target.name });
    return { kind: 'unknown' };
  }
}
