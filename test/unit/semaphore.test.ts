import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../functions/orchestrator/semaphore.js';

describe('Semaphore', () => {
  it('tryUse runs work while a slot is free and skips it, resolving to null, while every slot is held', async () => {
    const slots = new Semaphore(1);
    let release!: () => void;
    const holding = slots.use(() => new Promise<string>((r) => (release = () => r('held'))));

    const skipped = await slots.tryUse(async () => 'ran');
    release();
    const held = await holding;
    const after = await slots.tryUse(async () => 'ran');

    expect(skipped).toBeNull();
    expect(held).toBe('held');
    expect(after).toBe('ran');
  });

  it('use waits for a slot and runs waiters in order', async () => {
    const slots = new Semaphore(1);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => slots.use(async () => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
  });
});
