import { describe, expect, it } from 'vitest';
import { startAll, type Stoppable } from '../helpers/start-all.js';

function server(name: string, stopped: string[]): Stoppable & { name: string } {
  return { name, stop: async () => void stopped.push(name) };
}

describe('startAll', () => {
  it('returns every started server in order when all start', async () => {
    const stopped: string[] = [];
    const [a, b] = await startAll([Promise.resolve(server('a', stopped)), Promise.resolve(server('b', stopped))]);

    expect([a.name, b.name]).toEqual(['a', 'b']);
    expect(stopped).toEqual([]);
  });

  it('stops the servers that started and rethrows when one fails to start', async () => {
    const stopped: string[] = [];
    const failure = new Error('mariadb did not start');

    const started = startAll([Promise.resolve(server('pg', stopped)), Promise.reject(failure), Promise.resolve(server('redis', stopped))]);

    await expect(started).rejects.toBe(failure);
    expect(stopped.sort()).toEqual(['pg', 'redis']);
  });
});
