import type { Target } from '../../shared/config/schema.js';
import type { Marker } from '../../shared/core/marker.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { errorMessage } from '../../shared/errors.js';
import type { Deps } from '../deps.js';
import { stopJob } from '../jobs/job-runner.js';
import { writeJobResult, type JobResult } from './restore-history.js';
import type { JobStep } from './restore-runner.js';
import { jobParams, type JobOutcome, type JobParams } from './restore-state.js';

/**
 * Ending a restore or drill run, and telling where one stands: the result recorded on EFS (a later
 * poll with its run id reads it), the job stopped when it may still run, the run directory and the
 * lock removed last.
 */

/** Why a finished job's marker says it failed: the first failed step and the last error line of its log. */
export function markerFailure(marker: Marker): string | null {
  const failed = marker.steps.find((s) => s.status !== 0);
  if (!failed && marker.ok) return null;
  const lines = marker.stderrTail.split('\n').filter((l) => /error|fatal|failed/i.test(l) && !/step \S+: exit status/.test(l));
  const detail = lines.at(-1)?.trim();
  const what = failed ? `step "${failed.name}" exited with status ${failed.status}` : 'the job reports a failure';
  return detail ? `${what}: ${detail}` : what;
}

/** Records the result, stops the job if asked, removes the run directory and releases the lock. */
export async function endJob(
  deps: Deps,
  target: Target,
  run: RunRecord,
  result: Omit<JobResult, 'runId' | 'kind' | 'startedAt' | 'finishedAt' | 'source' | 'slot'>,
  kill: boolean,
): Promise<JobResult> {
  const params = safeParams(run);
  const full: JobResult = {
    ...result,
    runId: run.runId,
    kind: run.kind === 'drill' ? 'drill' : 'restore',
    slot: run.slot,
    startedAt: run.createdAt,
    finishedAt: deps.now().toISOString(),
    ...(params ? { source: sourceSummary(params) } : {}),
  };
  const problems: string[] = [];
  if (kill) {
    const problem = await stopJob(deps, target, run, `${run.kind} failed`);
    if (problem) problems.push(`could not stop the job: ${problem}`);
  }
  await writeJobResult(deps.state.root, target.name, full).catch((e: unknown) => problems.push(`could not record the result: ${errorMessage(e)}`));
  await deps.state.removeRunDir(target.name, run.runId).catch((e: unknown) => problems.push(`could not remove the run directory: ${errorMessage(e)}`));
  await deps.state.releaseRun(target.name).catch((e: unknown) => problems.push(`could not release the lock: ${errorMessage(e)}`));
  if (problems.length > 0) deps.telemetry.logger.warn(`cleanup after the ${run.kind} was incomplete`, { target: target.name, runId: run.runId, problems });
  return full;
}

function safeParams(run: RunRecord): JobParams | null {
  try {
    return jobParams(run);
  } catch {
    return null;
  }
}

function sourceSummary(params: JobParams): NonNullable<JobOutcome['source']> {
  const { key, versionId, weekday, uploadedAt } = params.source;
  return { key, versionId, weekday, uploadedAt, ...(params.from ? { bucket: params.from.bucket } : {}) };
}

/** The answer for a run still under way (or busy). */
export function progressOutcome(
  target: Target,
  kind: JobOutcome['kind'],
  step: Exclude<JobStep, { state: 'finished' | 'failed' }>,
  first: boolean,
  database: string | undefined,
  now: Date,
): JobOutcome {
  if (step.state === 'busy') return { target: target.name, kind, outcome: 'busy', reason: step.reason };
  const params = jobParams(step.run);
  const runningSeconds = step.run.startedAt ? Math.max(0, Math.round((now.getTime() - Date.parse(step.run.startedAt)) / 1000)) : undefined;
  return {
    target: target.name,
    kind,
    outcome: first ? 'started' : 'waiting',
    runId: step.run.runId,
    phase: step.state,
    source: sourceSummary(params),
    ...(database !== undefined ? { database } : {}),
    progress: { bytesDownloaded: params.bytesDownloaded, bytesTotal: params.source.size, ...(runningSeconds !== undefined ? { runningSeconds } : {}) },
    ...(step.reason ? { reason: step.reason } : {}),
  };
}

/** The answer for a finished run, from its recorded result. */
export function resultOutcome(target: Target, result: JobResult): JobOutcome {
  return {
    target: target.name,
    kind: result.kind,
    outcome: result.outcome,
    runId: result.runId,
    phase: 'finished',
    ...(result.source ? { source: result.source } : {}),
    ...(result.database !== undefined ? { database: result.database } : {}),
    ...(result.reason !== undefined ? { reason: result.reason } : {}),
    ...(result.note !== undefined ? { note: result.note } : {}),
    ...(result.problems !== undefined ? { problems: result.problems } : {}),
  };
}
