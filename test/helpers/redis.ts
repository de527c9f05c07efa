import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';

/**
 * A throwaway Redis 7 server on 127.0.0.1 for integration tests: free port, temp dir, no automatic saves
 * (`--save ''`), `--enable-debug-command local` for DEBUG DIGEST, optional password, stopped by PID.
 */

/** A running test server. */
export interface RedisServer {
  host: '127.0.0.1';
  port: number;
  password: string | undefined;
  dir: string;
  pid: number;
  /** Runs one command with redis-cli; resolves to its output without trailing newline. */
  cli(...args: string[]): Promise<string>;
  /** DEBUG DIGEST of the whole dataset (40 zeros when empty). */
  debugDigest(): Promise<string>;
  /** Kills the server (no save) and removes its directory. */
  stop(): Promise<void>;
}

/** Runs redis-cli against host:port, the password coming from REDISCLI_AUTH (never argv). */
export function redisCli(port: number, password: string | undefined, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', ...(password === undefined ? {} : { REDISCLI_AUTH: password }) };
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout.replace(/\n$/, ''));
    });
  });
}

/** Starts redis-server with `dir` as its working directory; options: a password (requirepass), a port (default a free one) and extra arguments. */
export async function startRedis(opts: { password?: string; dir?: string; port?: number; extraArgs?: string[] } = {}): Promise<RedisServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'redis-test-'));
  const port = opts.port ?? (await freePort());
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--enable-debug-command', 'local', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
    ...(opts.password === undefined ? [] : ['--requirepass', opts.password]),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cli = (...a: string[]) => redisCli(port, opts.password, a);
  for (let i = 0; ; i++) {
    try {
      if ((await cli('PING')) === 'PONG') break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error(`redis-server on port ${port} did not answer PING; see ${dir}/redis.log`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    password: opts.password,
    dir,
    pid: child.pid ?? 0,
    cli,
    debugDigest: () => cli('DEBUG', 'DIGEST'),
    async stop() {
      child.kill('SIGKILL');
      await exited;
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
