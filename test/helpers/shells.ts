import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtureDir } from './shared-fixture.js';

/**
 * The shells the generated scripts must run under: dash (Debian's /bin/sh) and busybox ash (Alpine's). The busybox
 * variant also puts busybox's own awk/sed/tr/od/... first on PATH, as in an Alpine image.
 */

/** A shell to run scripts with, and the PATH prefix that goes with it. */
export interface Shell {
  name: 'dash' | 'busybox';
  argv: readonly string[];
  pathPrefix: string;
}

/** Applets that stand in for coreutils/gawk/sed in an Alpine-like PATH. */
const BUSYBOX_APPLETS = [
  'awk', 'sed', 'tr', 'od', 'gzip', 'gunzip', 'zcat', 'tail', 'head', 'cut', 'wc', 'sha256sum', 'date', 'cp', 'mv', 'rm',
  'mkdir', 'cat', 'sleep', 'mktemp', 'tee', 'mkfifo', 'nproc', 'setsid', 'grep', 'printf', 'kill', 'sort', 'tr', 'ls', 'dd',
];

/** A directory of busybox applet symlinks (one shared copy for all test files). */
export function busyboxBinDir(): string {
  const applets = [...new Set(BUSYBOX_APPLETS)];
  return sharedFixtureDir('busybox-bin', applets.join(' '), (dir) => {
    for (const applet of applets) symlinkSync('/usr/bin/busybox', join(dir, applet));
  });
}

/** dash and busybox sh, each with its PATH prefix (empty for dash). */
export function shells(): Shell[] {
  return [
    { name: 'dash', argv: ['dash'], pathPrefix: '' },
    { name: 'busybox', argv: ['busybox', 'sh'], pathPrefix: busyboxBinDir() },
  ];
}

/** Output of a finished script. */
export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function shellPath(shell: Shell, extra: readonly string[] = []): string {
  return [...extra, shell.pathPrefix, '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'].filter((p) => p !== '').join(':');
}

/** Writes `script` to runDir/job.sh and runs it as the launcher would (stdout and stderr into runDir/log); resolves to its exit code and log. */
export function runJob(
  shell: Shell,
  runDir: string,
  script: string,
  opts: { env?: NodeJS.ProcessEnv; path?: readonly string[]; onSpawn?: (pid: number) => void; detached?: boolean } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; log: string }> {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'job.sh'), script);
  const fd = openSync(join(runDir, 'log'), 'w');
  const [cmd, ...pre] = shell.argv as [string, ...string[]];
  const child = spawn(cmd, [...pre, 'job.sh'], {
    cwd: runDir,
    env: { ...opts.env, PATH: shellPath(shell, opts.path) },
    stdio: ['ignore', fd, fd],
    // its own process group, for a test that signals the job and everything it started, as the orchestrator's kill does
    detached: opts.detached === true,
  });
  closeSync(fd);
  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, log: readFileSync(join(runDir, 'log'), 'utf8') }));
  });
}

/** Runs the shell with args; extra PATH entries go first, then the shell's prefix, then the system PATH. */
export function runShell(
  shell: Shell,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; path?: readonly string[]; timeoutMs?: number } = {},
): Promise<ScriptResult> {
  const path = shellPath(shell, opts.path);
  const [cmd, ...pre] = shell.argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(
      cmd,
      [...pre, ...args],
      { cwd: opts.cwd, env: { ...opts.env, PATH: path }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Checks a script's syntax with `sh -n` under the shell; resolves to the error output ('' when fine). */
export async function syntaxErrors(shell: Shell, scriptPath: string): Promise<string> {
  const result = await runShell(shell, ['-n', scriptPath]);
  return result.code === 0 ? '' : result.stderr || `exit ${result.code}`;
}
