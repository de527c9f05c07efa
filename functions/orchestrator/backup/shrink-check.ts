import { lastSuccessfulBackup } from '../../shared/adapters/s3-backups.js';
import type { Target } from '../../shared/config/schema.js';
import type { Counts } from '../../shared/core/counts.js';
import { describeShrinkage, shrinkage, type Shrinkage } from '../../shared/core/shrink.js';
import type { Deps } from '../deps.js';

/**
 * Compares an uploaded dump with the target's newest verified backup before its manifest replaces anything: what
 * shrank by the target's `shrink` rules, or null. S3 errors propagate (the caller retries, as for the manifest), so
 * a shrunk dump is never recorded unflagged because the comparison could not be made.
 */
export async function compareWithPrevious(deps: Deps, target: Target, current: { size: number; counts: Counts }): Promise<Shrinkage | null> {
  const previous = await lastSuccessfulBackup(deps.s3, deps.env.bucket, deps.env.keyPrefix, target.name);
  return shrinkage(previous, current, target.shrink);
}

/** The warning a flagged backup logs, naming what shrank. */
export function logShrinkage(deps: Deps, log: Record<string, unknown>, shrank: Shrinkage): void {
  deps.telemetry.logger.warn(`backup shrank: ${describeShrinkage(shrank)}; it is uploaded, but check that the task it came from holds the real data`, {
    ...log,
    shrankTables: shrank.tables.map((t) => t.name),
    ...(shrank.bytes ? { bytesBefore: shrank.bytes.before, bytesAfter: shrank.bytes.after } : {}),
  });
}
