import { describe, expect, it } from 'vitest';
import { parsePgbenchLog, quantile, windowStats } from '../../scripts/bench/load-stats.js';

describe('parsePgbenchLog', () => {
  it('reads the latency and the end time of every transaction, and leaves out failed ones', () => {
    const log = ['0 1 2500 0 1700000000 250000', '1 1 10000 0 1700000001 0', '0 2 failed 0 1700000001 500000', ''].join('\n');

    expect(parsePgbenchLog(log)).toEqual([
      { endSeconds: 1700000000.25, latencyMs: 2.5 },
      { endSeconds: 1700000001, latencyMs: 10 },
    ]);
  });
});

describe('quantile', () => {
  it.each([
    [[5], 0.99, 5],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
    [Array.from({ length: 1000 }, (_, i) => 1000 - i), 0.99, 990],
    [[], 0.99, NaN],
  ])('of %j at %f is %f (nearest rank)', (values, q, expected) => {
    expect(quantile(values, q)).toBe(expected);
  });
});

describe('windowStats', () => {
  it('counts only the transactions that ended inside the window', () => {
    const tx = Array.from({ length: 10 }, (_, i) => ({ endSeconds: 100 + i, latencyMs: i === 5 ? 50 : 1 }));

    expect(windowStats(tx, 102, 106)).toEqual({ transactions: 5, windowSeconds: 4, tps: 1.25, p99Ms: 50 });
    expect(windowStats(tx, 200, 200).tps).toBeNaN();
  });
});
