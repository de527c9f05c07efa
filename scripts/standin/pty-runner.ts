import { mkdirSync, read, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IPty } from 'node-pty';

const require = createRequire(import.meta.url);
// node-pty is CommonJS with a native addon; load it lazily so importing the stand-in stays cheap.
let ptyModule: typeof import('node-pty') | undefined;
function nodePty(): typeof import('node-pty') {
  ptyModule ??= require('node-pty') as typeof import('node-pty');
  return ptyModule;
}

/** Bytes per read of the pty master (frames are cut to 1 KiB later). */
const READ_SIZE = 64 * 1024;

/** Where busybox lives on this machine; bound over /bin/sh for `shell: 'busybox'` containers. */
export const BUSYBOX_PATH = '/usr/bin/busybox';

/** What to run and the "container" around it. */
export interface PtyCommand {
  argv: string[];
  /** The container's environment (TERM, LANG, PATH and HOME are added as the agent's process would have them). */
  env?: Record<string, string>;
  /** Container path → host directory. */
  mounts?: Record<string, string>;
  shell?: 'dash' | 'busybox';
}

/** A command running under a pty; it has ended when every holder of the pty slave has closed it. */
export interface PtyProcess {
  readonly pid: number;
  onData(listener: (chunk: Buffer) => void): void;
  /** Fires once, when the master reads EOF/EIO: the direct child and every process holding the slave are gone. */
  onEnd(listener: () => void): void;
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Stops reading the pty (the kernel buffer then blocks the writer), like a paused agent. */
  pause(): void;
  resume(): void;
  /** The agent's cancellation: SIGKILL to the direct child only, then close the master. */
  kill(): void;
}

/** The environment the agent gives its command: the container's plus TERM and, if unset, LANG. */
export function agentEnvironment(env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    ...env,
    TERM: 'xterm-256color',
    LANG: env.LANG ?? 'C.UTF-8',
  };
}

// Runs inside the private mount namespace: bind each `host container` pair, then exec the real argv so the
// command itself (not this wrapper) is the pty's session leader and the only original holder of the slave.
const SETUP_SCRIPT =
  'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do mount --bind "$1" "$2" || exit 126; shift 2; done; shift; exec "$@"';

/** Starts argv under a new pty inside a private mount namespace (`unshare --mount`); needs root. */
export function startPty(command: PtyCommand): PtyProcess {
  const binds: string[] = [];
  for (const [containerPath, hostDir] of Object.entries(command.mounts ?? {})) {
    mkdirSync(hostDir, { recursive: true });
    mkdirSync(containerPath, { recursive: true });
    binds.push(hostDir, containerPath);
  }
  if (command.shell === 'busybox') binds.push(BUSYBOX_PATH, '/bin/sh');
  const args = ['--mount', '--propagation', 'private', '/bin/dash', '-c', SETUP_SCRIPT, 'standin-setup', ...binds, '--', ...command.argv];
  const term: IPty = nodePty().spawn('/usr/bin/unshare', args, {
    name: 'xterm-256color',
    cwd: '/',
    env: agentEnvironment(command.env),
    encoding: null,
    cols: 80,
    rows: 24,
  });
  // node-pty's own reader loses output: its socket is destroyed on EIO, discarding data still buffered in the
  // stream, and it destroys the socket 200 ms after the direct child exits even while background children still
  // hold the slave. So its socket never reads (the close timer is disabled by marking it bound, reading is
  // stopped on the handle) and the master is read here, like the agent's writePump, until EOF/EIO.
  const internals = term as unknown as { _boundClose: boolean; _socket: { _read: () => void; _handle?: { reading: boolean; readStop(): number }; destroy(): void } };
  internals._boundClose = true;
  internals._socket._read = () => undefined;
  internals._socket._handle?.readStop();
  if (internals._socket._handle) internals._socket._handle.reading = false;
  const fd = (term as unknown as { _fd: number })._fd;
  const dataListeners: ((chunk: Buffer) => void)[] = [];
  const endListeners: (() => void)[] = [];
  const early: Buffer[] = [];
  const buffer = Buffer.alloc(READ_SIZE);
  let ended = false;
  let paused = false;
  let reading = false;
  let idleReads = 0;
  const finish = () => {
    if (ended) return;
    ended = true;
    internals._socket.destroy(); // closes the master
    for (const listener of endListeners) listener();
  };
  const readLoop = () => {
    if (ended || paused || reading) return;
    reading = true;
    read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
      reading = false;
      if (ended) return;
      if (error && (error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK')) {
        idleReads++;
        setTimeout(readLoop, idleReads < 100 ? 1 : 10);
        return;
      }
      if (error || bytes === 0) {
        finish(); // EIO: every holder of the slave has closed it
        return;
      }
      idleReads = 0;
      const chunk = Buffer.from(buffer.subarray(0, bytes));
      if (dataListeners.length === 0) early.push(chunk);
      else for (const listener of dataListeners) listener(chunk);
      setImmediate(readLoop);
    });
  };
  readLoop();
  return {
    pid: term.pid,
    onData(listener) {
      dataListeners.push(listener);
      for (const chunk of early.splice(0)) listener(chunk);
    },
    onEnd(listener) {
      if (ended) listener();
      else endListeners.push(listener);
    },
    write(data) {
      if (!ended) term.write(data as unknown as string);
    },
    resize(cols, rows) {
      if (!ended && cols > 0 && rows > 0) term.resize(Math.min(cols, 65535), Math.min(rows, 65535));
    },
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      readLoop();
    },
    kill() {
      if (!ended && isOurChild(term.pid)) process.kill(term.pid, 'SIGKILL');
      finish();
    },
  };
}

// node-pty reaps the direct child itself, so its pid may already belong to someone else: check the parent.
function isOurChild(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid === process.pid;
  } catch {
    return false;
  }
}
