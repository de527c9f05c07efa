import { Cron } from 'croner';
import { BackupError } from '../errors.js';

/**
 * Schedule arithmetic on 5-field cron expressions in an IANA time zone (croner). Pure: the clock is
 * an argument.
 */

/** A cron expression or time zone croner rejects (the config schema normally catches these first). */
export class ScheduleError extends BackupError {}

function cronOf(expression: string, timeZone: string): Cron {
  try {
    return new Cron(expression, { timezone: timeZone, mode: '5-part', paused: true });
  } catch (error) {
    throw new ScheduleError(`invalid schedule "${expression}" in ${timeZone}: ${(error as Error).message}; fix the target's schedule`, {
      cause: error,
    });
  }
}

/** The latest scheduled time at or before `now`, or null when the expression never fired before `now`. */
export function latestSlot(expression: string, timeZone: string, now: Date): Date | null {
  // croner's previousRuns is exclusive of its reference; one millisecond later makes `now` itself count.
  const [slot] = cronOf(expression, timeZone).previousRuns(1, new Date(now.getTime() + 1));
  return slot ?? null;
}

/** The first scheduled time strictly after `now`. */
export function nextSlot(expression: string, timeZone: string, now: Date): Date | null {
  return cronOf(expression, timeZone).nextRun(now);
}

/** Whether a backup is due, and for which slot. */
export type Due =
  | { due: true; slot: Date }
  | { due: false; reason: 'never-scheduled' | 'done' | 'failed-slot'; slot: Date | null };

/**
 * Due = the latest scheduled time ≤ now is after the last success, and is not the slot whose run
 * already failed (that slot is not retried every hour; the next scheduled time is).
 */
export function isDue(args: {
  schedule: string;
  timeZone: string;
  now: Date;
  lastSuccess: Date | null;
  lastFailedSlot: Date | null;
}): Due {
  const slot = latestSlot(args.schedule, args.timeZone, args.now);
  if (slot === null) return { due: false, reason: 'never-scheduled', slot: null };
  if (args.lastSuccess !== null && args.lastSuccess.getTime() >= slot.getTime()) return { due: false, reason: 'done', slot };
  if (args.lastFailedSlot !== null && args.lastFailedSlot.getTime() >= slot.getTime()) {
    return { due: false, reason: 'failed-slot', slot };
  }
  return { due: true, slot };
}

/** Where gap measurements start: a fixed instant, so synthesizing on any day gives the same alarms. */
const GAP_WINDOW_START = Date.UTC(2026, 0, 1);
/** How far gap measurements look: two years and a day, so a yearly schedule shows one whole gap and both DST switches count. */
const GAP_WINDOW_MS = (2 * 365 + 1) * 86_400_000;
/**
 * At most this many lookups per measurement (croner takes ~0.1 ms each): a schedule that fires in more distinct
 * hours is measured over those hours only (about 100 days of an hourly schedule), which no backup schedule outgrows.
 */
const GAP_MAX_LOOKUPS = 2500;
const HOUR_MS = 3_600_000;

/**
 * The longest time between two scheduled times as the hourly orchestrator sees them (slots within one hour count
 * once: it starts one backup per hour at most), in milliseconds, measured in the schedule's time zone over two
 * years (DST switches included); null when the schedule fires fewer than twice in that window.
 */
export function longestGapMs(expression: string, timeZone: string): number | null {
  const key = `${expression}\n${timeZone}`;
  if (!gapCache.has(key)) gapCache.set(key, measureLongestGap(expression, timeZone));
  return gapCache.get(key)!;
}

/** Measured gaps by expression and time zone: a synth measures the same few schedules again and again. */
const gapCache = new Map<string, number | null>();

function measureLongestGap(expression: string, timeZone: string): number | null {
  const cron = cronOf(expression, timeZone);
  const end = GAP_WINDOW_START + GAP_WINDOW_MS;
  let from = GAP_WINDOW_START;
  let previous: number | null = null;
  let longest: number | null = null;
  for (let lookups = 0; from < end && lookups < GAP_MAX_LOOKUPS; lookups++) {
    const slot = cron.nextRun(new Date(from - 1))?.getTime() ?? null;
    if (slot === null || slot >= end) break;
    if (previous !== null) longest = Math.max(longest ?? 0, slot - previous);
    previous = slot;
    // The next lookup starts at the next whole hour: the rest of this hour adds no backup.
    from = (Math.floor(slot / HOUR_MS) + 1) * HOUR_MS;
  }
  return longest;
}

/** Whether the expression fires at least twice in the measurement window of longestGapMs (cheap: two lookups). */
export function firesRepeatedly(expression: string, timeZone: string): boolean {
  const cron = cronOf(expression, timeZone);
  const first = cron.nextRun(new Date(GAP_WINDOW_START - 1));
  const second = first ? cron.nextRun(first) : null;
  return second !== null && second.getTime() < GAP_WINDOW_START + GAP_WINDOW_MS;
}

/** Hours the orchestrator may take past a slot: it looks once an hour, and an upload may span one more invocation. */
export const SLOT_GRACE_HOURS = 2;

/**
 * How old a target's newest backup may get before it is stale: the schedule's longest gap, plus the grace of
 * SLOT_GRACE_HOURS, plus the time its dump may run (dumpTimeoutMinutes), in whole hours. Throws a ScheduleError
 * for a schedule that fires fewer than twice in two years (the config schema rejects those).
 */
export function backupAgeLimitHours(target: { schedule: string; timeZone: string; dumpTimeoutMinutes: number }): number {
  const gap = longestGapMs(target.schedule, target.timeZone);
  if (gap === null) throw new ScheduleError(`schedule "${target.schedule}" in ${target.timeZone} fires less than once a year; give the target a schedule that repeats`);
  return Math.ceil(gap / HOUR_MS) + SLOT_GRACE_HOURS + Math.ceil(target.dumpTimeoutMinutes / 60);
}
