import { describe, expect, it } from 'vitest';
import { fleetOrder, runFleet, START_BUDGET_MS } from '../../functions/orchestrator/fleet-run.js';

const HOUR = 3_600_000;
const items = Array.from({ length: 200 }, (_, i) => `t${i}`);
const deferred = (item: string) => `${item}:deferred`;

describe('fleetOrder', () => {
  it('keeps every target once, rotated', () => {
    const order = fleetOrder(items, new Date(Date.UTC(2026, 11, 3, 13)));
    expect([...order].sort()).toEqual([...items].sort());
    const start = items.indexOf(order[0]!);
    expect(order).toEqual([...items.slice(start), ...items.slice(0, start)]);
  });

  it('starts somewhere else every hour, so no target is always among the last', () => {
    const base = Date.UTC(2026, 11, 3, 0);
    const lastQuarterCount = new Map<string, number>();
    for (let h = 0; h < 24; h++) {
      const order = fleetOrder(items, new Date(base + h * HOUR));
      for (const item of order.slice(150)) lastQuarterCount.set(item, (lastQuarterCount.get(item) ?? 0) + 1);
    }
    // Over a day, a fixed order would put the same 50 targets last 24 times.
    expect(Math.max(...lastQuarterCount.values())).toBeLessThan(12);
    const starts = new Set(Array.from({ length: 24 }, (_, h) => fleetOrder(items, new Date(base + h * HOUR))[0]));
    expect(starts.size).toBe(24);
  });

  it('is the same within an hour', () => {
    const at = Date.UTC(2026, 11, 3, 5);
    expect(fleetOrder(items, new Date(at))).toEqual(fleetOrder(items, new Date(at + HOUR - 1)));
  });
});

describe('runFleet', () => {
  it('runs every item, at most `concurrency` at once, results in the items’ order', async () => {
    let running = 0;
    let most = 0;
    const results = await runFleet(
      items,
      async (item) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, Number(item.slice(1)) % 3));
        running--;
        return item.toUpperCase();
      },
      { concurrency: 8, deadline: Date.now() + HOUR, now: Date.now, order: (x) => [...x].reverse(), deferred },
    );
    expect(results).toEqual(items.map((i) => i.toUpperCase()));
    expect(most).toBe(8);
  });

  it('lets a slow item hold one slot while the others go on', async () => {
    const done: string[] = [];
    let releaseSlow!: () => void;
    const slow = new Promise<void>((r) => (releaseSlow = r));
    const run = runFleet(
      ['slow', ...items.slice(0, 20)],
      async (item) => {
        if (item === 'slow') await slow;
        done.push(item);
        return item;
      },
      { concurrency: 2, deadline: Date.now() + HOUR, now: Date.now, deferred },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toEqual(items.slice(0, 20));
    releaseSlow();
    expect(await run).toHaveLength(21);
  });

  it('starts nothing once less than the start budget is left, and says so per item', async () => {
    let clock = 0;
    const deadline = 10 * START_BUDGET_MS;
    const results = await runFleet(
      items.slice(0, 10),
      async (item) => {
        clock += 3 * START_BUDGET_MS;
        return item;
      },
      { concurrency: 1, deadline, now: () => clock, deferred },
    );
    // Starts at 0, 3, 6 and 9 budgets (one budget left: still enough); at 12 the deadline has passed.
    expect(results).toEqual(['t0', 't1', 't2', 't3', ...items.slice(4, 10).map(deferred)]);
  });

  it('still runs the first steps of an invocation shorter than the start budget, keeping half of it', async () => {
    let clock = 0;
    const deadline = START_BUDGET_MS / 4;
    const results = await runFleet(
      items.slice(0, 3),
      async (item) => {
        clock += START_BUDGET_MS / 12;
        return item;
      },
      { concurrency: 1, deadline, now: () => clock, deferred },
    );
    // Half the budget (1/8) is kept: starts at 0 and 1/12 (1/4 and 1/6 left); at 1/6 only 1/12 is left.
    expect(results).toEqual(['t0', 't1', deferred('t2')]);
  });

  it('handles no items', async () => {
    expect(await runFleet([], async () => 1, { deadline: 0, now: () => 0, deferred: () => 0 })).toEqual([]);
  });
});
