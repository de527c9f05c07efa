import type { RunRecord } from './run-record.js';
import { transferProblem } from './transfer-progress.js';

/**
 * The workflow decision for a target that has a run record: observed state + clock → next action.
 * Pure; the orchestrator gathers the observations (EFS, ECS) and does what this says. Whether a
 * target without a run record is due is `isDue` in schedule.ts.
 */

/** A run record in phase `starting` older than this belongs to an invocation that died (15 min is Lambda's maximum duration). */
export const STARTING_STALE_MS = 15 * 60_000;

/** The fields of a done.gz marker the decision reads (the full Marker of marker.ts fits). */
export interface MarkerSummary {
  runId: string;
  ok: boolean;
  file: string | null;
  bytes: number;
  sha256: string | null;
  steps: readonly { name: string; status: number }[];
}

/** What the run directory shows of the marker and the finished dump. */
export type MarkerObservation =
  | { state: 'absent' }
  | { state: 'corrupt'; reason: string }
  /** fileSize: size of `<runDir>/<marker.file>` on EFS, null when it is missing. */
  | { state: 'present'; marker: MarkerSummary; fileSize: number | null };

/** Everything the decision for an existing run looks at. */
export interface RunObservation {
  now: Date;
  run: RunRecord;
  marker: MarkerObservation;
  /** Whether the recorded task is still RUNNING; undefined until looked up (the decision asks for it only when needed). */
  taskRunning?: boolean;
  /** Why the task stopped, when ECS said (a runner task's stop code, reason and exit code). */
  taskStopped?: string;
  /** Whether the job's process still lives in the container; undefined until looked up (asked for after the task). */
  jobAlive?: boolean;
  dumpTimeoutMinutes: number;
  /** Upload attempts (invocations that hit S3 errors) allowed before the run fails. */
  maxUploadAttempts: number;
}

/** The next step for a run. */
export type RunAction =
  /** Another invocation is launching it right now: leave it alone. */
  | { action: 'busy'; reason: string }
  /** The launching invocation died: clean up, then decide afresh as if there were no run. */
  | { action: 'abandon'; reason: string }
  /** The dump is still going: look again next time. */
  | { action: 'wait'; reason: string }
  /** Look up whether the recorded task still runs, then look at the marker again and decide again. */
  | { action: 'check-task' }
  /** Look up whether the job's process still lives, then look at the marker again (it may have just finished) and decide again. */
  | { action: 'check-job' }
  /** The marker verifies: upload the dump (or resume the upload). */
  | { action: 'upload' }
  /** The run failed; `kill` asks to stop the job in the container first (it may still be running). */
  | { action: 'fail'; reason: string; kill: boolean };

/** Why a present marker does not vouch for its dump, or null when it does. */
export function markerProblem(run: RunRecord, marker: MarkerSummary, fileSize: number | null): string | null {
  if (marker.runId !== run.runId) return `marker belongs to run ${marker.runId}, not ${run.runId}`;
  const failed = marker.steps.find((s) => s.status !== 0);
  if (failed) return `step "${failed.name}" exited with status ${failed.status}`;
  if (!marker.ok) return 'marker says the job failed';
  if (marker.file === null) return 'marker names no dump file';
  if (marker.sha256 === null) return 'marker has no sha256 of the dump';
  if (marker.bytes <= 0) return 'dump is empty';
  if (fileSize === null) return `dump file ${marker.file} is missing from the run directory`;
  if (fileSize !== marker.bytes) return `dump file is ${fileSize} bytes but the marker says ${marker.bytes}`;
  return null;
}

/** Decides the next step for a target with a run record. */
export function decideRun(o: RunObservation): RunAction {
  const { run, now } = o;
  if (run.phase === 'starting') {
    const age = now.getTime() - Date.parse(run.createdAt);
    return age > STARTING_STALE_MS
      ? { action: 'abandon', reason: `run ${run.runId} never got past "starting" (${Math.round(age / 60_000)} min ago)` }
      : { action: 'busy', reason: `run ${run.runId} is being started by another invocation` };
  }
  if (o.marker.state === 'corrupt') return { action: 'fail', reason: `marker is corrupt: ${o.marker.reason}`, kill: false };
  if (o.marker.state === 'present') {
    const problem = markerProblem(run, o.marker.marker, o.marker.fileSize);
    if (problem !== null) return { action: 'fail', reason: problem, kill: false };
    if (run.uploadAttempts >= o.maxUploadAttempts) {
      return { action: 'fail', reason: `upload failed ${run.uploadAttempts} times, last: ${run.lastError ?? 'unknown'}`, kill: false };
    }
    const stuck = transferProblem(run.transfer, now, 'upload');
    if (stuck !== null) return { action: 'fail', reason: stuck, kill: false };
    return { action: 'upload' };
  }
  if (run.phase === 'uploading') return { action: 'fail', reason: 'marker disappeared during the upload', kill: false };
  // startedAt is set in every phase past "starting" (schema rule).
  const elapsed = now.getTime() - Date.parse(run.startedAt ?? run.createdAt);
  if (elapsed > o.dumpTimeoutMinutes * 60_000) {
    return { action: 'fail', reason: `no marker after ${o.dumpTimeoutMinutes} min (dumpTimeoutMinutes): the job is stuck or was killed`, kill: true };
  }
  if (o.taskRunning === undefined) return { action: 'check-task' };
  // A detached job dies with its task; without a marker it can never finish, so fail now rather than at the timeout.
  if (!o.taskRunning) {
    const why = o.taskStopped === undefined ? '' : `: ${o.taskStopped}`;
    return { action: 'fail', reason: `task ${run.task?.taskId ?? '?'} stopped before the job wrote its marker${why}`, kill: false };
  }
  if (o.jobAlive === undefined) return { action: 'check-job' };
  // The job writes its marker last, whatever happened; gone without one means it was killed (OOM killer, kill -9).
  if (!o.jobAlive) return { action: 'fail', reason: `the job (pid ${run.pid ?? '?'}) ended without writing its marker: it was killed`, kill: false };
  return { action: 'wait', reason: `dump running for ${Math.round(elapsed / 1000)} s` };
}
