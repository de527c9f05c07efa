import type { Telemetry } from '../../shared/adapters/telemetry.js';
import type { Target } from '../../shared/config/schema.js';
import { staleTargets, type ObservedAge } from '../../shared/core/fleet-staleness.js';

/** Stale targets named in the log line at most (the count is exact; the rest are in the targets' own lines). */
export const STALE_NAMES_LOGGED = 50;

/**
 * After a scheduled run with `alarms.staleness: "fleet"`: publishes StaleTargets, the number of targets that
 * are stale by their own limits, which one alarm watches, and names them in one log line. A run that never
 * gets here (the Lambda stopped, crashed or timed out) publishes nothing, and that alarm treats missing data
 * as breaching. Returns the count.
 */
export function reportStaleTargets(
  telemetry: Telemetry,
  targets: readonly Target[],
  ageLimitHours: Readonly<Record<string, number>>,
  observed: ReadonlyMap<string, ObservedAge>,
): number {
  const stale = staleTargets(targets.map((t) => ({ name: t.name, limitHours: ageLimitHours[t.name]! })), observed);
  telemetry.emitFleet({ StaleTargets: stale.length });
  if (stale.length > 0) {
    telemetry.logger.warn('stale targets', { count: stale.length, targets: stale.slice(0, STALE_NAMES_LOGGED) });
  }
  return stale.length;
}
