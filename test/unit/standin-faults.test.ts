import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { FaultySender, seededRandom } from '../../scripts/standin/faults.js';

async function deliverAll(faults: ConstructorParameters<typeof FaultySender>[0], count: number): Promise<string[]> {
  const delivered: string[] = [];
  const sender = new FaultySender(faults, (b) => delivered.push(b.toString()));
  vi.useFakeTimers();
  try {
    for (let i = 0; i < count; i++) sender.send(Buffer.from(String(i)));
    await vi.runAllTimersAsync();
  } finally {
    vi.useRealTimers();
  }
  return delivered;
}

describe('FaultySender', () => {
  it('sends in order, once each, without faults', async () => {
    expect(await deliverAll({}, 5)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('delivers every frame at least once under any schedule', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ duplicateRate: fc.double({ min: 0, max: 1, noNaN: true }), reorderRate: fc.double({ min: 0, max: 1, noNaN: true }), maxDelayMs: fc.integer({ min: 0, max: 50 }), seed: fc.integer() }),
        async (faults) => {
          const delivered = await deliverAll(faults, 30);
          expect(new Set(delivered)).toEqual(new Set(Array.from({ length: 30 }, (_, i) => String(i))));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('duplicates every frame at rate 1', async () => {
    expect(await deliverAll({ duplicateRate: 1 }, 3)).toEqual(['0', '0', '1', '1', '2', '2']);
  });

  it('swaps neighbours at reorder rate 1', async () => {
    expect(await deliverAll({ reorderRate: 1 }, 4)).toEqual(['1', '0', '3', '2']);
  });

  it('repeats the same schedule for the same seed', async () => {
    const faults = { duplicateRate: 0.3, reorderRate: 0.3, maxDelayMs: 20, seed: 42 };
    expect(await deliverAll(faults, 50)).toEqual(await deliverAll(faults, 50));
  });

  it('draws numbers in [0, 1) from a seed', () => {
    const random = seededRandom(7);
    const draws = Array.from({ length: 1000 }, random);
    expect(draws.every((d) => d >= 0 && d < 1)).toBe(true);
    expect(seededRandom(7)()).toBe(draws[0]);
  });
});
