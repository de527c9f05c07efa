import { execPlacement } from '../../shared/config/target-mode.js';
import type { Target } from '../../shared/config/schema.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { buildScratchDropJob } from '../../shared/core/scripts/jobs.js';
import { shQuote } from '../../shared/core/scripts/quote.js';
import { errorMessage } from '../../shared/errors.js';
import { pickTask } from '../../shared/exec/task-picker.js';
import type { Deps } from '../deps.js';
import { containerRunDir, stopJob } from '../jobs/job-runner.js';

/**
 * A drill job killed at its time limit, or one that died with its task, leaves the scratch copy of production on the
 * server. The Lambda drops it when it ends such a run: a short job (the drill's own name checks, then the drop) run
 * over ECS Exec in a RUNNING task of the service, waited for.
 */

/** How long the drop may take. */
const DROP_TIMEOUT_MS = 120_000;

/** Drops the scratch database of a failed drill run; returns what went wrong, or null (also when there was nothing to drop). */
export async function dropScratch(deps: Deps, target: Target, run: RunRecord, scratch: string | undefined): Promise<string | null> {
  // Nothing was started (the download failed, or the job never launched): nothing was created.
  if (target.engine === 'redis' || scratch === undefined || run.task === null) return null;
  // A runner task cannot be exec'ed into; a second task just to drop the database is not worth its start-up here.
  if (target.mode === 'task') return `the drill's runner task ended before it dropped the scratch database "${scratch}": drop it by hand`;
  try {
    const runDir = `${containerRunDir(target, run.runId)}/cleanup`;
    const job = buildScratchDropJob(target, { runId: run.runId, runDir, startedAt: deps.now().toISOString() }, scratch);
    const { service, container } = execPlacement(target);
    const picked = await pickTask(deps.tasks ?? deps.ecs, target.cluster, service, container);
    const script = `d=${shQuote(runDir)}\nmkdir -p -- "$d" && printf '%s' ${shQuote(job)} >"$d/job.sh" && cd -- "$d" && /bin/sh job.sh 2>&1`;
    const timeoutMs = Math.max(5_000, Math.min(DROP_TIMEOUT_MS, deps.deadline - Date.now()));
    const result = await deps.exec.run({ cluster: picked.clusterArn, task: picked.taskArn, container, script, timeoutMs, maxOutputBytes: 64 * 1024 });
    if (result.exitCode === 0) return null;
    const lines = result.output.split('\n').filter((l) => /error/i.test(l) && !/step \S+: exit status/.test(l));
    return `dropping the scratch database "${scratch}" failed (exit status ${result.exitCode}): ${lines.at(-1)?.trim() ?? result.output.trim().slice(-300)}`;
  } catch (error) {
    return `dropping the scratch database "${scratch}" failed: ${errorMessage(error)}`;
  }
}

/**
 * Ends what a failed drill left running or lying around: stops its job when asked (it may still run), then drops its
 * scratch database. Logs each step; returns the drop's problem, or null.
 */
export async function cleanUpDeadDrill(deps: Deps, target: Target, run: RunRecord, kill: boolean, scratch: string | undefined): Promise<string | null> {
  const log = { target: target.name, runId: run.runId, scratchDatabase: scratch };
  if (kill) {
    const problem = await stopJob(deps, target, run, 'drill failed');
    if (problem) deps.telemetry.logger.warn(`could not stop the drill job: ${problem}`, log);
  }
  const problem = await dropScratch(deps, target, run, scratch);
  if (problem) deps.telemetry.logger.error(problem, log);
  else if (scratch !== undefined && run.task !== null && target.engine !== 'redis') deps.telemetry.logger.info('scratch database dropped after the failed drill', log);
  return problem;
}
