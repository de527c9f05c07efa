import { randomBytes } from 'node:crypto';
import type { Target } from '../../shared/config/schema.js';
import { extensionFor } from '../../shared/core/marker.js';
import { newRunId, startingRecord, type RunRecord } from '../../shared/core/run-record.js';
import { isDue, type Due } from '../../shared/core/schedule.js';
import { buildDrillJob } from '../../shared/core/scripts/jobs.js';
import { errorMessage } from '../../shared/errors.js';
import type { Deps } from '../deps.js';
import { cleanUpDeadDrill } from './drill-cleanup.js';
import { compareCounts, drillSummary } from './drill-compare.js';
import { containerRunDir } from '../jobs/job-runner.js';
import { endJob, markerFailure, progressOutcome, resultOutcome } from '../restore/restore-finish.js';
import { readJobResult, type JobResult } from '../restore/restore-history.js';
import { advanceJob } from '../restore/restore-runner.js';
import { BackupNotFoundError, resolveSource } from '../restore/restore-source.js';
import { jobParams, type JobOutcome, type JobParams } from '../restore/restore-state.js';
import { jobBudget } from '../restore/restore-workflow.js';

/**
 * Restore drills: restore the newest backup into a scratch database on the same server (Redis: a
 * throwaway server in the container), compare its counts with what the manifest recorded at dump time,
 * drop the scratch database (the job always does), and emit RestoreDrillSuccess or RestoreDrillFailure.
 * A drill holds the target's lock, so it never runs while a backup or a restore of the target does.
 */

/** The scratch database of a target's drills: the configured one, else `<database>_drill` (Redis needs none). */
export function scratchDatabaseOf(target: Target): string {
  return target.drill?.scratchDatabase ?? `${target.database ?? target.name}_drill`;
}

/** Whether a scheduled drill is due: the drill schedule's latest slot is after the start of the last drill. */
export function drillDue(target: Target, now: Date, last: Pick<JobResult, 'startedAt'> | null): Due | null {
  if (!target.drill) return null;
  return isDue({
    schedule: target.drill.schedule,
    timeZone: target.drill.timeZone,
    now,
    lastSuccess: last ? new Date(last.startedAt) : null,
    // A failed drill alarms; it is not retried before its next slot.
    lastFailedSlot: null,
  });
}

/** The scheduled drill of a target when it is due, else null (nothing to do). */
export async function scheduledDrill(deps: Deps, target: Target): Promise<JobOutcome | null> {
  const due = drillDue(target, deps.now(), await readJobResult(deps.state.root, target.name, 'drill'));
  if (!due?.due) return null;
  try {
    return await startDrill(deps, target, due.slot, false);
  } catch (error) {
    // No backup yet: the staleness alarm speaks for that; the drill runs once there is one.
    if (!(error instanceof BackupNotFoundError)) throw error;
    deps.telemetry.logger.info(`restore drill due but not started: ${error.message}`, { target: target.name });
    return null;
  }
}

/** Handles a manual drill request: runs one now, or carries on / reports the run named by `runId`. */
export async function runDrill(deps: Deps, target: Target, runId: string | undefined): Promise<JobOutcome> {
  if (runId === undefined) return startDrill(deps, target, null, true);
  const file = await deps.state.readRun(target.name, deps.now());
  if (file.state === 'ok' && file.record.runId === runId && file.record.kind === 'drill') return continueDrill(deps, target, file.record, false, true);
  const last = await readJobResult(deps.state.root, target.name, 'drill');
  if (last?.runId === runId) return resultOutcome(target, last);
  return { target: target.name, kind: 'drill', outcome: 'failed', runId, reason: `no drill run ${runId} of target "${target.name}" is running or recorded` };
}

async function startDrill(deps: Deps, target: Target, slot: Date | null, manual: boolean): Promise<JobOutcome> {
  const now = deps.now();
  const runId = newRunId(now, randomBytes(4).toString('hex'));
  const file = `drill.${extensionFor(target.engine)}`;
  const scratch = scratchDatabaseOf(target);
  // Generating the job first rejects what cannot be drilled (a scratch name equal to the live database, ...) before anything starts.
  buildDrillJob(target, { runId, runDir: containerRunDir(target, runId), startedAt: now.toISOString() }, { file, scratchDatabase: scratch });
  const existing = await deps.state.readRun(target.name, now);
  if (existing.state !== 'none') {
    const reason = existing.state === 'ok' ? `a ${existing.record.kind} (run ${existing.record.runId}) holds the target's lock` : existing.reason;
    return { target: target.name, kind: 'drill', outcome: 'busy', reason };
  }
  const source = await resolveSource(deps, target, 'latest');
  const params: JobParams = { source, file, scratchDatabase: scratch, overwrite: false, verify: true, bytesDownloaded: 0 };
  const run = startingRecord({ kind: 'drill', runId, target: target.name, now, slot, params });
  if (!(await deps.state.createRun(run))) return { target: target.name, kind: 'drill', outcome: 'busy', reason: 'another invocation took the lock first' };
  deps.telemetry.logger.info('restore drill started', { target: target.name, runId, key: source.key, versionId: source.versionId, scratchDatabase: scratch, slot: run.slot });
  return continueDrill(deps, target, run, true, manual);
}

/** One step of a drill run: download, launch, watch, or judge and finish. */
export async function continueDrill(deps: Deps, target: Target, run: RunRecord, first: boolean, manual: boolean): Promise<JobOutcome> {
  const log = { target: target.name, runId: run.runId };
  let step;
  let params: JobParams | null = null;
  try {
    params = jobParams(run);
    const scratch = params.scratchDatabase ?? scratchDatabaseOf(target);
    const build = (r: RunRecord, p: JobParams, t: Target) =>
      buildDrillJob(t, { runId: r.runId, runDir: containerRunDir(t, r.runId), startedAt: deps.now().toISOString() }, { file: p.file, scratchDatabase: scratch });
    step = await advanceJob(deps, target, run, build, jobBudget(deps, manual));
  } catch (error) {
    step = { state: 'failed' as const, run, reason: errorMessage(error), kill: false };
  }
  const database = params?.scratchDatabase;
  if (step.state === 'busy' || step.state === 'downloading' || step.state === 'running') return progressOutcome(target, 'drill', step, first, database, deps.now());
  let failure: string | null;
  let problems: string[] = [];
  let warnings: string[] = [];
  let details: string[] = [];
  let compared = 0;
  let checked: string[] = [];
  if (step.state === 'failed') {
    failure = step.reason;
  } else {
    failure = markerFailure(step.marker);
    if (failure === null) {
      const verdict = compareCounts(params!.source.counts, step.marker.counts);
      ({ problems, warnings, details, compared, checked } = verdict);
      if (!verdict.ok) failure = `the restored data differs: ${problems.slice(0, 3).join('; ')}`;
    }
  }
  if (step.state === 'failed') {
    const problem = await cleanUpDeadDrill(deps, target, step.run, step.kill, database);
    if (problem) failure = `${failure}; ${problem}`;
  }
  if (failure !== null) {
    deps.telemetry.logger.error(`restore drill failed: ${failure}`, {
      ...log,
      scratchDatabase: database,
      problems,
      details,
      checked,
      ...(step.state === 'finished' ? { stderrTail: step.marker.stderrTail } : {}),
    });
    deps.telemetry.emit(target.name, { RestoreDrillFailure: 1 });
    const result = await endJob(deps, target, step.run, { outcome: 'failed', reason: failure, ...(problems.length ? { problems } : {}), ...(database ? { database } : {}) }, false);
    return resultOutcome(target, result);
  }
  const summary = drillSummary({ compared, checked, details });
  deps.telemetry.logger.info(`restore drill passed: ${summary}`, { ...log, scratchDatabase: database, key: params!.source.key, versionId: params!.source.versionId, warnings });
  deps.telemetry.emit(target.name, { RestoreDrillSuccess: 1 });
  const note = [summary, ...warnings].join('; ');
  return resultOutcome(target, await endJob(deps, target, step.run, { outcome: 'succeeded', note, ...(database ? { database } : {}) }, false));
}
