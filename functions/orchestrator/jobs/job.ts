import { posix } from 'node:path';
import type { Target } from '../../shared/config/schema.js';
import { containerBackupDir } from '../../shared/config/target-mode.js';
import type { MarkerObservation } from '../../shared/core/decide.js';
import { MARKER_FILE, MarkerError, parseMarker, type Marker } from '../../shared/core/marker.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { BackupError } from '../../shared/errors.js';
import type { Deps } from '../deps.js';

/**
 * What every job shares, whichever runner starts it (backup, restore, drill; exec or task): where its run
 * directory is, what a started job is, and its done.gz marker on EFS.
 */

/** The job could not be started; nothing runs. */
export class JobStartError extends BackupError {}

/** Where a run directory is inside the job's container: `<backupDir>/<runId>` (backupDir is where the target's own access point, `<rootPath>/<target>`, is mounted). */
export function containerRunDir(target: Target, runId: string): string {
  return posix.join(containerBackupDir(target), runId);
}

/** A started job: its task, process group id (exec jobs; a runner task's job is the task itself) and start time. */
export interface StartedJob {
  task: NonNullable<RunRecord['task']>;
  pid: number | null;
  startedAt: Date;
}

/** Whether the task a job runs in still runs, and when not, why it stopped (when ECS says). */
export interface TaskState {
  running: boolean;
  stopped?: string;
}

/** The marker of a run as the decision sees it, plus the parsed marker when there is one. */
export async function observeMarker(deps: Deps, run: RunRecord): Promise<{ observation: MarkerObservation; marker: Marker | null }> {
  const gz = await deps.state.readRunFile(run.target, run.runId, MARKER_FILE);
  if (gz === null) return { observation: { state: 'absent' }, marker: null };
  let marker: Marker;
  try {
    marker = parseMarker(gz);
  } catch (error) {
    if (error instanceof MarkerError) return { observation: { state: 'corrupt', reason: error.message }, marker: null };
    throw error;
  }
  // marker.file is a basename (the script generator enforces it); anything else is not a file of this run.
  const fileSize = marker.file && !marker.file.includes('/') ? await deps.state.runFileSize(run.target, run.runId, marker.file) : null;
  return {
    observation: { state: 'present', marker: { ...marker, bytes: marker.bytes ?? 0 }, fileSize },
    marker,
  };
}

