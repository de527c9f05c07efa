import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat times (100 on every Linux this runs on). */
const CLK_TCK = 100;

interface Stat {
  ppid: number;
  /** utime + stime */
  own: number;
  /** cutime + cstime: children it has reaped */
  reaped: number;
}

async function stat(pid: number): Promise<Stat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
  return { ppid: f[1]!, own: f[11]! + f[12]!, reaped: f[13]! + f[14]! };
}

/** A reading of a server's CPU and the children it had at the time. */
export interface ServerCpu {
  seconds: number;
  children: ReadonlySet<number>;
}

/**
 * CPU seconds a server process has used so far, counting its reaped children (PostgreSQL backends, Redis's BGSAVE
 * fork) and the ones still running: the difference of two readings is the server-side cost of what ran in between.
 */
export async function readServerCpu(pid: number): Promise<ServerCpu> {
  for (;;) {
    const server = await stat(pid);
    if (server === undefined) throw new Error(`server process ${pid} is gone`);
    let ticks = server.own + server.reaped;
    const children = new Set<number>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const child = await stat(Number(entry));
      if (child?.ppid !== pid) continue;
      ticks += child.own + child.reaped;
      children.add(Number(entry));
    }
    // A child reaped while /proc was being read was counted twice or not at all: read again.
    if ((await stat(pid))?.reaped === server.reaped) return { seconds: ticks / CLK_TCK, children };
  }
}

/**
 * Reads the server's CPU once the children started since `before` have exited and been reaped (up to 2 s): a backend
 * ends just after its client, and one exiting during a reading would be missed.
 */
export async function serverCpuSince(pid: number, before: ServerCpu): Promise<number> {
  for (let i = 0; ; i++) {
    const now = await readServerCpu(pid);
    if ([...now.children].every((c) => before.children.has(c)) || i >= 40) return now.seconds - before.seconds;
    await new Promise((r) => setTimeout(r, 50));
  }
}
