import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Everything the demo starts, and stopping it: one temp root holds every directory (TMPDIR points
 * there, so the test helpers' servers, the bundle and the EFS stand-in all land in it), each
 * started thing is registered, and stopAll() stops them, then kills any process still running from
 * the root (a server's argv names its directory) or from a stand-in container (marked in its
 * environment), then removes the root. Safe to call from a signal handler and again afterwards.
 */

/** Something started that must be stopped. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Environment variable every stand-in container (and so every job it starts) carries: its value is the temp root. */
export const DEMO_MARK_ENV = 'ECS_DB_BACKUP_DEMO_ROOT';

/** The demo's started things and its temp root. */
export interface Lifecycle {
  /** The temp root (also the process's TMPDIR from now on). */
  root: string;
  /** Whether stopping has begun (Ctrl-C or the end). */
  readonly stopping: boolean;
  /** Throws InterruptedError once stopping has begun: the flows call it between steps. */
  check(): void;
  /** Awaits a start and registers the result; when stopping began meanwhile, stops it and throws. */
  track<T extends Stoppable>(starting: Promise<T>): Promise<T>;
  /** Stops everything at once, kills leftovers, removes the root; resolves to the leftovers killed. */
  stopAll(): Promise<string[]>;
}

/** The demo stopped (Ctrl-C) while something was starting. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

/** Creates the temp root (traversable: the PostgreSQL server runs as user postgres) and makes it TMPDIR. */
export function createLifecycle(): Lifecycle {
  const root = mkdtempSync(join(tmpdir(), 'ecs-db-demo-'));
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  const running: Stoppable[] = [];
  let stopped: Promise<string[]> | undefined;
  return {
    root,
    get stopping() {
      return stopped !== undefined;
    },
    check() {
      if (stopped) throw new InterruptedError();
    },
    async track(starting) {
      const started = await starting;
      if (stopped) {
        await started.stop();
        throw new InterruptedError();
      }
      running.push(started);
      return started;
    },
    stopAll() {
      stopped ??= (async () => {
        await Promise.allSettled(running.map((s) => s.stop()));
        const leftovers = killLeftovers(root);
        await waitGone(leftovers.map((l) => Number(l.split(' ')[0])));
        rmSync(root, { recursive: true, force: true });
        return leftovers;
      })();
      return stopped;
    },
  };
}

function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function gone(pid: number): boolean {
  const stat = readProc(String(pid), 'stat');
  // A zombie is dead; its parent (maybe us) reaps it.
  return stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')));
}

/** Waits (at most 5 s) until the processes are gone, so that none writes into a directory being removed. */
async function waitGone(pids: readonly number[]): Promise<void> {
  for (let i = 0; i < 100 && !pids.every(gone); i++) await new Promise((r) => setTimeout(r, 50));
}

/** SIGKILLs every other process whose command line names `root` or whose environment carries the demo's mark for it; returns `pid command` of each. */
export function killLeftovers(root: string): string[] {
  const killed: string[] = [];
  const mark = `${DEMO_MARK_ENV}=${root}`;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    const cmdline = readProc(pid, 'cmdline').split('\0');
    const named = cmdline.some((a) => a.includes(root));
    if (!named && !readProc(pid, 'environ').split('\0').includes(mark)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
      killed.push(`${pid} ${cmdline.join(' ').trim().slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
