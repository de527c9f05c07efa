import { describe, expect, it } from 'vitest';
import { medianRow, roundRobin, runPlans, type Plan } from '../../scripts/bench/runner.js';

function plans(names: string[], calls: string[]): Plan[] {
  return names.map((label, i) => ({
    label,
    async run() {
      calls.push(label);
      return { wallSeconds: i + calls.length / 100, cpuSeconds: 1, maxRssKiB: 1024, bytes: label === 'b' ? null : 10 * calls.length };
    },
  }));
}

describe('roundRobin', () => {
  it('runs every plan once per round, every other round backwards, and returns the samples in plan order', async () => {
    const calls: string[] = [];
    const samples = await roundRobin(plans(['a', 'b', 'c'], calls), 3, null, () => undefined);

    expect(calls).toEqual(['a', 'b', 'c', 'c', 'b', 'a', 'a', 'b', 'c']);
    expect(samples.map((s) => s.length)).toEqual([3, 3, 3]);
    expect(samples[0]!.map((s) => s.bytes)).toEqual([10, 60, 70]);
    expect(samples[0]!.every((s) => s.serverCpuSeconds === 0)).toBe(true);
  });
});

describe('runPlans and medianRow', () => {
  it('give each plan the median of every field, and null bytes when no run wrote any', async () => {
    const rows = await runPlans(plans(['a', 'b'], []), 3, null, () => undefined);

    expect(rows.map((r) => [r.label, r.bytes])).toEqual([
      ['a', 40],
      ['b', null],
    ]);
    expect(medianRow('x', [
      { wallSeconds: 3, cpuSeconds: 1, maxRssKiB: 5, bytes: 7, serverCpuSeconds: 2 },
      { wallSeconds: 1, cpuSeconds: 3, maxRssKiB: 9, bytes: 8, serverCpuSeconds: 4 },
    ])).toEqual({ label: 'x', wallSeconds: 2, wallRange: [1, 3], cpuSeconds: 2, maxRssKiB: 7, bytes: 7.5, serverCpuSeconds: 3 });
  });
});
