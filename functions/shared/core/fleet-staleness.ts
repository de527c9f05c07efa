/**
 * The fleet-level staleness count (config `alarms.staleness: "fleet"`): which targets one scheduled
 * invocation finds stale, by the same rule as the per-target BackupAgeHours alarms: the newest verified
 * backup older than the target's own limit (backupAgeLimitHours of schedule.ts), no verified backup at
 * all, or an age the invocation could not tell (the per-target alarm treats that missing report as
 * breaching too). Pure: observations and limits in, the stale targets out.
 */

/** What one invocation saw of a target's newest verified backup. */
export type ObservedAge =
  | { readonly kind: 'age'; readonly hours: number }
  /** S3 holds no verified backup of it. */
  | { readonly kind: 'none' }
  /** Not known this time: its step was deferred (time budget), or reading S3 failed. */
  | { readonly kind: 'unknown' };

/** A target and the limit its staleness is judged by. */
export interface StalenessLimit {
  readonly name: string;
  /** Hours its newest backup may be old (backupAgeLimitHours). */
  readonly limitHours: number;
}

/** A stale target and why. */
export interface StaleTarget {
  readonly target: string;
  readonly reason: string;
}

/** The stale targets among `targets`, in their order; a target with no observation counts as unknown. */
export function staleTargets(targets: readonly StalenessLimit[], observed: ReadonlyMap<string, ObservedAge>): StaleTarget[] {
  const stale: StaleTarget[] = [];
  for (const t of targets) {
    const age = observed.get(t.name) ?? { kind: 'unknown' };
    if (age.kind === 'none') stale.push({ target: t.name, reason: 'no verified backup yet' });
    else if (age.kind === 'unknown') stale.push({ target: t.name, reason: 'its backup age was not read this hour (deferred, or S3 failed)' });
    // Over, not at: the per-target alarm's GreaterThanThreshold.
    else if (age.hours > t.limitHours) stale.push({ target: t.name, reason: `newest backup is ${age.hours.toFixed(1)} h old, over its limit of ${t.limitHours} h` });
  }
  return stale;
}
