/**
 * How one scheduled invocation spreads its work over hundreds of targets.
 *
 * Decision: bounded concurrency with a time budget inside the one invocation, not a fan-out by async
 * self-invocation. A target's hourly step is nearly all waiting (EFS, S3, ECS, the data channel), which
 * one Node process overlaps well; the work is bounded (at most FLEET_CONCURRENCY steps at once), so
 * memory and the ECS/S3 request rates stay flat however many targets there are. A fan-out would need
 * reserved concurrency for the batches (the stack keeps it at 2 on purpose), lambda:InvokeFunction on
 * itself, and Lambda's async retries would run a failed batch twice more, every target in it again.
 * Fairness: the order rotates every hour, so when the budget runs out the targets left over (reported
 * `deferred`, still due next hour) are different ones each time, and none is always last.
 */

/** Targets whose step runs at once: overlaps the waiting, bounds memory and the ECS/S3 request rate. */
export const FLEET_CONCURRENCY = 32;
/**
 * No target step starts with less than this left before the deadline: it could not finish anything. An
 * invocation whose whole budget is shorter (a low Lambda timeout) keeps half of it instead, so its first
 * steps still run and every invocation makes progress.
 */
export const START_BUDGET_MS = 20_000;

/** The targets in the order an invocation works on them: rotated by a step that changes every hour. */
export function fleetOrder<T>(items: readonly T[], now: Date): T[] {
  if (items.length === 0) return [];
  const hour = Math.floor(now.getTime() / 3_600_000);
  // The golden ratio's fraction spreads successive hours' starting points evenly over the list.
  const offset = Math.floor(((hour * 0.6180339887) % 1) * items.length);
  return [...items.slice(offset), ...items.slice(0, offset)];
}

/** Options of {@link runFleet}. */
export interface FleetOptions<T, R> {
  /** Steps running at once. Default {@link FLEET_CONCURRENCY}. */
  readonly concurrency?: number;
  /** Epoch ms after which no new work may run. */
  readonly deadline: number;
  /** The clock (epoch ms). */
  readonly now: () => number;
  /** The order to work in (default: as given). */
  readonly order?: (items: readonly T[]) => T[];
  /** The result of an item not started because the budget ran out. */
  readonly deferred: (item: T) => R;
}

/** Runs `step` for every item, at most `concurrency` at once, none started within START_BUDGET_MS of the deadline (half the budget when it is shorter); results in the items' order. */
export async function runFleet<T, R>(items: readonly T[], step: (item: T) => Promise<R>, o: FleetOptions<T, R>): Promise<R[]> {
  const results = new Map<T, R>();
  const queue = (o.order ?? ((x) => [...x]))(items);
  let next = 0;
  const startBudget = Math.min(START_BUDGET_MS, (o.deadline - o.now()) / 2);
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const item = queue[next++]!;
      results.set(item, o.deadline - o.now() < startBudget ? o.deferred(item) : await step(item));
    }
  };
  const workers = Math.max(1, Math.min(o.concurrency ?? FLEET_CONCURRENCY, queue.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return items.map((item) => results.get(item)!);
}
