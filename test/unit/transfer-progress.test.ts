import { describe, expect, it } from 'vitest';
import { TRANSFER_LIMITS, transferBegins, transferProblem, transferProgressed } from '../../functions/shared/core/transfer-progress.js';

const T0 = new Date('2026-11-22T05:00:00Z');
const hoursLater = (h: number) => new Date(T0.getTime() + h * 3_600_000);

describe('transfer progress', () => {
  it('counts an invocation as idle before it works, and clears the count once it got further', () => {
    const first = transferBegins(null, T0);
    expect(first).toEqual({ startedAt: T0.toISOString(), done: 0, idleInvocations: 1 });
    const after = transferProgressed(first, 12);
    expect(after).toEqual({ startedAt: T0.toISOString(), done: 12, idleInvocations: 0 });
    expect(transferProgressed(transferBegins(after, hoursLater(1)), 12)).toEqual({ ...after, idleInvocations: 1 });
  });

  it('gives up after the limit of invocations in a row without progress, including ones killed mid-way', () => {
    // Three invocations began and none got further (each was killed before it could say how far it got).
    let t = transferProgressed(transferBegins(null, T0), 5);
    for (let i = 1; i <= TRANSFER_LIMITS.maxIdleInvocations; i++) {
      expect(transferProblem(t, hoursLater(i), 'upload')).toBeNull();
      t = transferBegins(t, hoursLater(i));
    }
    expect(transferProblem(t, hoursLater(4), 'upload')).toBe('the upload made no progress over 3 invocations (5 done): it is stuck');
  });

  it.each([
    { hours: TRANSFER_LIMITS.maxHours, problem: null },
    { hours: TRANSFER_LIMITS.maxHours + 0.01, problem: 'the download is not finished after 48 hours (7 done)' },
  ])('after $hours hours says $problem', ({ hours, problem }) => {
    const t = { startedAt: T0.toISOString(), done: 7, idleInvocations: 0 };
    expect(transferProblem(t, hoursLater(hours), 'download')).toBe(problem);
  });

  it('has nothing to say before a transfer began', () => {
    expect(transferProblem(null, T0, 'upload')).toBeNull();
  });
});
