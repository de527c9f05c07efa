import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLifecycle, DEMO_MARK_ENV, InterruptedError, killLeftovers } from '../../scripts/demo/lifecycle.js';
import { isAlive } from '../helpers/exec.js';

const savedTmp = process.env.TMPDIR;
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

const stoppable = (log: string[], name: string) => ({ stop: async () => void log.push(name) });

describe('createLifecycle', () => {
  it('makes a temp root the TMPDIR, stops what was tracked and removes the root', async () => {
    const life = createLifecycle();
    expect(process.env.TMPDIR).toBe(life.root);
    writeFileSync(join(life.root, 'file'), 'x');
    const log: string[] = [];
    await life.track(Promise.resolve(stoppable(log, 'a')));
    await life.track(Promise.resolve(stoppable(log, 'b')));
    expect(life.stopping).toBe(false);
    expect(await life.stopAll()).toEqual([]);
    expect(log.sort()).toEqual(['a', 'b']);
    expect(existsSync(life.root)).toBe(false);
    expect(life.stopping).toBe(true);
  });

  it('stops what finishes starting after stopping began, and says it was interrupted', async () => {
    const life = createLifecycle();
    const log: string[] = [];
    let finish!: () => void;
    const late = life.track(new Promise<ReturnType<typeof stoppable>>((resolve) => (finish = () => resolve(stoppable(log, 'late')))));
    await life.stopAll();
    expect(() => life.check()).toThrow(InterruptedError);
    finish();
    await expect(late).rejects.toThrow(InterruptedError);
    expect(log).toEqual(['late']);
  });
});

describe('killLeftovers', () => {
  it('kills the processes that name the root in their argv or carry its mark, and no other', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ecs-db-demo-test-'));
    try {
      const named = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', join(root, 'server-dir')], { stdio: 'ignore' });
      const marked = spawn('sleep', ['60'], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin', [DEMO_MARK_ENV]: root } });
      const other = spawn('sleep', ['60'], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin', [DEMO_MARK_ENV]: `${root}-other` } });
      const exits = [named, marked].map((c) => new Promise((r) => c.once('exit', r)));
      await new Promise((r) => setTimeout(r, 200));
      const killed = killLeftovers(root);
      expect(killed.map((k) => Number(k.split(' ')[0])).sort()).toEqual([named.pid, marked.pid].sort());
      await Promise.all(exits);
      expect(isAlive(other.pid!)).toBe(true);
      other.kill('SIGKILL');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
