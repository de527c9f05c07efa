import { describe, expect, it } from 'vitest';
import { InterruptedError, stopAll, withCleanup, withStarted } from '../../scripts/bench/cleanup.js';

function server(log: string[], name: string) {
  return { stop: async () => void log.push(`stop ${name}`) };
}

describe('bench cleanup', () => {
  it('runs the cleanup once after the body, also when the body fails', async () => {
    const log: string[] = [];
    await expect(withCleanup(async () => void log.push('cleanup'), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withCleanup(async () => void log.push('cleanup'), async () => 42)).toBe(42);
    expect(log).toEqual(['cleanup', 'cleanup']);
  });

  it('on an interrupt stops what is running and what is still starting, and starts nothing afterwards', async () => {
    const log: string[] = [];
    let started!: () => void;
    const slow = new Promise<void>((resolve) => (started = resolve));
    const running = withStarted(async () => server(log, 'a'), async () => new Promise<never>(() => undefined));
    const starting = withStarted(async () => {
      await slow;
      return server(log, 'b');
    }, async () => 'never used');
    await new Promise((r) => setTimeout(r, 10));

    const stopping = stopAll();
    started();
    await stopping;

    expect(log.sort()).toEqual(['stop a', 'stop b']);
    let ran = false;
    await expect(withStarted(async () => ((ran = true), server(log, 'c')), async () => 1)).rejects.toThrow(InterruptedError);
    await expect(withCleanup(async () => void log.push('late cleanup'), async () => 1)).rejects.toThrow(InterruptedError);
    expect(ran).toBe(false);
    expect(log).toContain('late cleanup');
    void running;
    await starting.catch(() => undefined);
  });
});
