import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { randomBytes } from 'node:crypto';
import type { Target } from '../../shared/config/schema.js';
import { extensionFor } from '../../shared/core/marker.js';
import { newRunId, startingRecord, type RunRecord } from '../../shared/core/run-record.js';
import { mayBeSameDatabase } from '../../shared/core/same-database.js';
import { buildRestoreJob } from '../../shared/core/scripts/jobs.js';
import { compareCounts, drillSummary } from '../drill/drill-compare.js';
import { BackupError, errorMessage } from '../../shared/errors.js';
import type { Deps } from '../deps.js';
import { containerRunDir } from '../jobs/job-runner.js';
import { endJob, markerFailure, progressOutcome, resultOutcome } from './restore-finish.js';
import { readJobResult } from './restore-history.js';
import { sourceBucket } from './restore-bucket.js';
import { describeSelector, type RestoreRequest } from './restore-request.js';
import { advanceJob, type JobBudget } from './restore-runner.js';
import { resolveSource } from './restore-source.js';
import { jobParams, type JobOutcome, type JobParams } from './restore-state.js';

/**
 * A restore, one step per invocation: take the target's lock (no backup runs meanwhile), pin and
 * download the chosen backup to the run directory on EFS, run the engine's restore job in the
 * container, and report progress until its marker says how it ended. The same request with the run
 * id (or the hourly schedule) carries it on.
 */

/** The request would replace live data without saying so; nothing was started. */
export class RestoreRefusedError extends BackupError {}

/** A manual request downloads at most this long per invocation, so the caller sees progress. */
const MANUAL_DOWNLOAD_SLICE_MS = 5 * 60_000;

/**
 * Why a restore request may not go ahead, or null: restoring into the target's own (live) database needs
 * `overwrite`. A Redis restore without overwrite only stages a copy beside the live file, so it may.
 */
export function restoreRefusal(target: Target, request: Pick<RestoreRequest, 'intoDatabase' | 'overwrite'>): string | null {
  if (target.mode === 'task' && target.engine === 'redis') {
    return `refusing to restore target "${target.name}": a Redis restore stages the RDB where the server loads it, which a runner task cannot reach; download the object and load it with your provider's import, or start redis-server on it`;
  }
  if (request.overwrite || target.engine === 'redis') return null;
  const into = request.intoDatabase;
  if (into !== undefined && (target.database === undefined || !mayBeSameDatabase(target.engine, into, target.database))) return null;
  if (target.database === undefined) {
    return `refusing to restore into every database of the server of target "${target.name}": restore into another database (intoDatabase) or ask to replace it (overwrite: true)`;
  }
  const named = into === undefined || into === target.database ? `the live database "${target.database}"` : `"${into}", which the ${target.engine} server may take for the live database "${target.database}"`;
  return `refusing to restore into ${named} of target "${target.name}": restore into another database (intoDatabase) or ask to replace it (overwrite: true)`;
}

/**
 * How long an invocation works on a restore/drill: it waits for the job like a backup's fast path (so a small
 * one ends in one invocation and frees the target's lock at once); a manual request downloads in slices so its
 * caller sees progress, the hourly schedule for the whole invocation.
 */
export function jobBudget(deps: Deps, manual: boolean): JobBudget {
  const now = Date.now();
  const waitUntil = Math.min(deps.deadline, now + deps.env.fastPathSeconds * 1000);
  return { downloadUntil: manual ? Math.min(deps.deadline, now + MANUAL_DOWNLOAD_SLICE_MS) : deps.deadline, waitUntil };
}

/** Handles a restore request: starts a restore, or carries on / reports the one named by `runId`. */
export async function runRestore(deps: Deps, target: Target, request: RestoreRequest): Promise<JobOutcome> {
  if (request.runId !== undefined) return pollRestore(deps, target, request.runId);
  const refusal = restoreRefusal(target, request);
  if (refusal) throw new RestoreRefusedError(refusal);
  // Refuses any bucket but the deployment's and its configured replica before anything is read or locked.
  const from = sourceBucket(deps, request.from);
  const now = deps.now();
  const runId = newRunId(now, randomBytes(4).toString('hex'));
  const file = `restore.${extensionFor(target.engine)}`;
  // Generating the job now rejects what the engine cannot do (e.g. a Redis restore into a named database) before anything starts.
  buildRestoreJob(target, { runId, runDir: containerRunDir(target, runId), startedAt: now.toISOString() }, restoreOptions(target, { file, intoDatabase: request.intoDatabase, overwrite: request.overwrite, verify: request.verify }));
  const existing = await deps.state.readRun(target.name, now);
  if (existing.state === 'ok') {
    const { kind, runId: other } = existing.record;
    return { target: target.name, kind: 'restore', outcome: 'busy', runId: other, reason: `a ${kind} (run ${other}) holds the target's lock; try again when it has finished` };
  }
  if (existing.state === 'corrupt') return { target: target.name, kind: 'restore', outcome: 'busy', reason: existing.reason };
  const source = await resolveSource(deps, target, request.backup, from);
  const params: JobParams = {
    source,
    file,
    ...(request.from !== undefined ? { from: request.from } : {}),
    ...(request.intoDatabase !== undefined ? { intoDatabase: request.intoDatabase } : {}),
    overwrite: request.overwrite,
    verify: request.verify,
    bytesDownloaded: 0,
  };
  const run = startingRecord({ kind: 'restore', runId, target: target.name, now, slot: null, params });
  if (!(await deps.state.createRun(run))) {
    return { target: target.name, kind: 'restore', outcome: 'busy', reason: 'another invocation took the lock first' };
  }
  deps.telemetry.logger.info('restore started', {
    target: target.name,
    runId,
    backup: describeSelector(request.backup),
    key: source.key,
    versionId: source.versionId,
    bucket: from.bucket,
    ...(from.replicaRegion !== undefined ? { replicaRegion: from.replicaRegion } : {}),
    intoDatabase: databaseOf(target, params),
    overwrite: request.overwrite,
  });
  return continueRestore(deps, target, run, true, true);
}

/** Carries on the restore run `runId`, or reports how it ended. */
async function pollRestore(deps: Deps, target: Target, runId: string): Promise<JobOutcome> {
  const file = await deps.state.readRun(target.name, deps.now());
  if (file.state === 'ok' && file.record.runId === runId && file.record.kind === 'restore') return continueRestore(deps, target, file.record, false, true);
  const last = await readJobResult(deps.state.root, target.name, 'restore');
  if (last?.runId === runId) return resultOutcome(target, last);
  return { target: target.name, kind: 'restore', outcome: 'failed', runId, reason: `no restore run ${runId} of target "${target.name}" is running or recorded` };
}

/** One step of a restore run: download, launch, watch, or finish. */
export async function continueRestore(deps: Deps, target: Target, run: RunRecord, first: boolean, manual: boolean): Promise<JobOutcome> {
  let params: JobParams;
  try {
    params = jobParams(run);
  } catch (error) {
    // A run this version cannot read would otherwise hold the target's lock, and block its backups, for good.
    deps.telemetry.logger.error(`restore failed: ${errorMessage(error)}`, { target: target.name, runId: run.runId });
    return resultOutcome(target, await endJob(deps, target, run, { outcome: 'failed', reason: errorMessage(error) }, false));
  }
  const database = databaseOf(target, params);
  const build = (r: RunRecord, p: JobParams, t: Target) =>
    buildRestoreJob(t, { runId: r.runId, runDir: containerRunDir(t, r.runId), startedAt: deps.now().toISOString() }, restoreOptions(t, p));
  const log = { target: target.name, runId: run.runId };
  let step;
  try {
    step = await advanceJob(deps, target, run, build, jobBudget(deps, manual));
  } catch (error) {
    step = { state: 'failed' as const, run, reason: errorMessage(error), kill: false };
  }
  switch (step.state) {
    case 'busy':
    case 'downloading':
    case 'running':
      return progressOutcome(target, 'restore', step, first, database, deps.now());
    case 'failed': {
      deps.telemetry.logger.error(`restore failed: ${step.reason}`, { ...log, database });
      return resultOutcome(target, await endJob(deps, target, step.run, { outcome: 'failed', reason: step.reason, database }, step.kill));
    }
    case 'finished': {
      const verified = params.verify ? compareCounts(params.source.counts, step.marker.counts) : null;
      const failure = markerFailure(step.marker) ?? (verified && !verified.ok ? `the restored data differs: ${verified.problems.slice(0, 3).join('; ')}` : null);
      const parts = [verified?.ok ? `verified: ${drillSummary(verified)}` : undefined, ...(verified?.ok ? verified.warnings : []), step.marker.note];
      let note = parts.filter((p): p is string => p !== undefined && p !== '').join('; ') || undefined;
      if (failure !== null) {
        deps.telemetry.logger.error(`restore failed: ${failure}`, { ...log, database, stderrTail: step.marker.stderrTail, note });
        const problems = verified && !verified.ok ? { problems: verified.problems } : {};
        return resultOutcome(target, await endJob(deps, target, step.run, { outcome: 'failed', reason: failure, database, ...problems, ...(note ? { note } : {}) }, false));
      }
      if (target.engine === 'redis' && params.overwrite && target.allowServiceRestart) note = await restartService(deps, target, step.run, note);
      deps.telemetry.logger.info('restore succeeded', { ...log, database, key: params.source.key, versionId: params.source.versionId, note });
      return resultOutcome(target, await endJob(deps, target, step.run, { outcome: 'succeeded', database, ...(note ? { note } : {}) }, false));
    }
  }
}

function restoreOptions(target: Target, p: Pick<JobParams, 'file' | 'intoDatabase' | 'overwrite' | 'verify'>) {
  return {
    file: p.file,
    ...(p.intoDatabase !== undefined ? { intoDatabase: p.intoDatabase } : {}),
    overwrite: p.overwrite,
    verify: p.verify,
    restartAllowed: target.allowServiceRestart,
  };
}

function databaseOf(target: Target, params: JobParams): string | undefined {
  return params.intoDatabase ?? target.database;
}

/** Redis: a forced new deployment replaces the task; the new server loads the staged RDB. Says in the note what happened. */
async function restartService(deps: Deps, target: Target, run: RunRecord, note: string | undefined): Promise<string> {
  try {
    await deps.ecs.send(new UpdateServiceCommand({ cluster: run.task?.clusterArn ?? target.cluster, service: target.service, forceNewDeployment: true }));
    return `${note ?? ''} Restarted service ${target.service} (forced new deployment): the new task loads the restored RDB.`.trim();
  } catch (error) {
    return `${note ?? ''} Restarting service ${target.service} failed (${errorMessage(error)}): stop the Redis task without saving (redis-cli SHUTDOWN NOSAVE; a plain SHUTDOWN, SAVE or BGSAVE would overwrite the staged file) so ECS starts one on the staged file.`.trim();
  }
}
