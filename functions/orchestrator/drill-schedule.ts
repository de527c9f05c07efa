import type { Target } from '../shared/config/schema.js';
import { runBackup } from './backup-workflow.js';
import type { Deps, TargetOutcome } from './deps.js';
import { continueDrill, scheduledDrill } from './drill-workflow.js';
import { continueRestore } from './restore-workflow.js';

/**
 * One target's hourly step: a restore or drill holding the target's lock is carried on; otherwise the
 * backup workflow runs, and when it has nothing to do, a due drill starts. One run per target at a time.
 */
export async function runScheduled(deps: Deps, target: Target): Promise<TargetOutcome> {
  const file = await deps.state.readRun(target.name, deps.now());
  if (file.state === 'ok' && file.record.kind === 'restore') return continueRestore(deps, target, file.record, false, false);
  if (file.state === 'ok' && file.record.kind === 'drill') return continueDrill(deps, target, file.record, false, false);
  const backup = await runBackup(deps, target, false);
  if (backup.outcome !== 'idle' || !target.drill) return backup;
  return (await scheduledDrill(deps, target)) ?? backup;
}
