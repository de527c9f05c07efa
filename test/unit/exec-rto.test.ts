import { describe, expect, it } from 'vitest';
import { RetransmissionTimer, RtoDefaults } from '../../functions/shared/exec/rto.js';

describe('RetransmissionTimer', () => {
  it('starts at 200 ms', () => {
    expect(new RetransmissionTimer().rtoMs).toBe(RtoDefaults.initialRtoMs);
  });

  it.each([
    // RTTVAR = 0.25·|100 − s|, RTT = 0.875·100 + 0.125·s, RTO = RTT + max(10, 4·RTTVAR)
    ['a sample equal to the initial RTT', [100], 100 + 10],
    ['a fast sample', [20], 90 + 80],
    ['a slow sample', [500], 150 + 400],
    ['two samples', [100, 100], 100 + 10],
  ])('follows the agent estimator for %s', (_name, samples, expected) => {
    const timer = new RetransmissionTimer();
    for (const sample of samples) timer.update(sample);
    expect(timer.rtoMs).toBeCloseTo(expected, 6);
  });

  it('never exceeds 1 s', () => {
    const timer = new RetransmissionTimer();
    for (const sample of [5000, 20_000, 60_000]) timer.update(sample);
    expect(timer.rtoMs).toBe(RtoDefaults.maxRtoMs);
  });

  it('keeps a 10 ms margin over a perfectly steady RTT', () => {
    const timer = new RetransmissionTimer();
    for (let i = 0; i < 200; i++) timer.update(30);
    expect(timer.rtoMs).toBeCloseTo(40, 3);
  });
});
