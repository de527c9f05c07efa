import type { Target } from '../shared/config/schema.js';
import type { ObservedAge } from '../shared/core/fleet-staleness.js';
import { errorMessage } from '../shared/errors.js';
import { reportBackupAge } from './backup/backup-age.js';
import { runBackup } from './backup/backup-workflow.js';
import type { Deps, TargetOutcome } from './deps.js';

/**
 * One target's hourly step: a restore or drill holding the target's lock is carried on; otherwise the
 * backup workflow runs, and when it has nothing to do, a due drill starts. One run per target at a time.
 * `onAge` gets the age of its newest backup the step reported (the fleet-level staleness count).
 */
export async function runScheduled(deps: Deps, target: Target, onAge: (age: ObservedAge) => void = () => {}): Promise<TargetOutcome> {
  try {
    return await scheduledStep(deps, target);
  } finally {
    // After the step, so a backup it just finished counts; also after a step that threw.
    onAge(await reportBackupAge(deps, target));
  }
}

async function scheduledStep(deps: Deps, target: Target): Promise<TargetOutcome> {
  const file = await deps.state.readRun(target.name, deps.now());
  // The restore and drill code is loaded only when a target needs it (a chunk of the bundle, see handler.ts).
  if (file.state === 'ok' && file.record.kind === 'restore') {
    return (await import('./restore/restore-workflow.js')).continueRestore(deps, target, file.record, false, false);
  }
  if (file.state === 'ok' && file.record.kind === 'drill') {
    return (await import('./drill/drill-workflow.js')).continueDrill(deps, target, file.record, false, false);
  }
  const backup = await runBackup(deps, target, false);
  if (backup.outcome !== 'idle' || !target.drill) return backup;
  try {
    return (await (await import('./drill/drill-workflow.js')).scheduledDrill(deps, target)) ?? backup;
  } catch (error) {
    // A drill that cannot start is a drill failure (its alarm), not a backup failure.
    deps.telemetry.logger.error(`restore drill failed: could not start it: ${errorMessage(error)}`, { target: target.name });
    deps.telemetry.emit(target.name, { RestoreDrillFailure: 1 });
    return { target: target.name, kind: 'drill', outcome: 'failed', reason: errorMessage(error) } as TargetOutcome;
  }
}
