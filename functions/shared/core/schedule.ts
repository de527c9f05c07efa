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
