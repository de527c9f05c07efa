import type { Transfer } from './run-record.js';

/**
 * Bounds on a run's transfer phase (a backup's upload, a restore's or drill's download), so that one that stops getting
 * anywhere ends its run, loudly, instead of holding the target's lock for good. Each invocation that works on the
 * transfer first records itself as idle (transferBegins) and clears that once it got further (transferProgressed): an
 * invocation killed at the Lambda timeout stays counted. Pure.
 */

/** Invocations in a row without progress, and hours in all, that a transfer may take before its run fails. */
export const TRANSFER_LIMITS = {
  maxIdleInvocations: 3,
  /** A 1 TB dump uploads in about 12 hourly invocations at 100 MB/s; this is the backstop for a trickle. */
  maxHours: 48,
} as const;

/** Why a transfer must be given up now, or null while it may go on. */
export function transferProblem(transfer: Transfer | null, now: Date, what: string, limits: typeof TRANSFER_LIMITS = TRANSFER_LIMITS): string | null {
  if (transfer === null) return null;
  if (transfer.idleInvocations >= limits.maxIdleInvocations) {
    return `the ${what} made no progress over ${transfer.idleInvocations} invocations (${transfer.done} done): it is stuck`;
  }
  const hours = (now.getTime() - Date.parse(transfer.startedAt)) / 3_600_000;
  if (hours > limits.maxHours) return `the ${what} is not finished after ${limits.maxHours} hours (${transfer.done} done)`;
  return null;
}

/** The transfer as an invocation records it before working on it: one more idle invocation (a new transfer starts at now). */
export function transferBegins(transfer: Transfer | null, now: Date): Transfer {
  const t = transfer ?? { startedAt: now.toISOString(), done: 0, idleInvocations: 0 };
  return { ...t, idleInvocations: t.idleInvocations + 1 };
}

/** The transfer after an invocation that left `done` parts or bytes done: progress clears the idle count. */
export function transferProgressed(transfer: Transfer, done: number): Transfer {
  return done > transfer.done ? { ...transfer, done, idleInvocations: 0 } : transfer;
}
