import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildLaunchScript } from '../../functions/shared/core/scripts/launch.js';
import { isAlive } from '../helpers/exec.js';
import { runShell, shells } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

async function waitUntil(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const waitFor = (path: string) => waitUntil(() => existsSync(path), `${path} to appear`);

/** A job that waits for `go` would loop forever once its directory is removed: stop it if the test fails first. */
function stopJobWhenFinished(pid: number): void {
  onTestFinished(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already finished
    }
  });
}

describe.each(shells())('launch script under $name', (shell) => {
  it('starts the job detached, prints "started <pid>" and returns while the job still runs', async () => {
    const runDir = join(tempDir('launch'), 'runs', 'r1');
    const job = '#!/bin/sh\necho "job running in $(pwd)"\nwhile [ ! -e go ]; do sleep 0.05; done\necho finished >finished\n';

    const result = await runShell(shell, ['-c', buildLaunchScript(runDir, job)]);

    expect(result.code).toBe(0);
    const match = /^started (\d+)\n$/.exec(result.stdout);
    expect(match).not.toBeNull();
    const pid = Number(match?.[1]);
    stopJobWhenFinished(pid);
    expect(isAlive(pid)).toBe(true);
    // the printed pid leads its own session and process group, so `kill -TERM -- -<pid>` stops the job and its tools;
    // read once it has exec'd `/bin/sh job.sh` (setsid and nohup exec it): until then it may still be the forked
    // launcher, whose command line also mentions job.sh, before setsid
    await waitUntil(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ') === '/bin/sh job.sh', `${pid} to run job.sh`);
    const rawStat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const stat = rawStat.slice(rawStat.lastIndexOf(')') + 2).split(' ');
    expect({ pgrp: Number(stat[2]), session: Number(stat[3]) }).toEqual({ pgrp: pid, session: pid });
    expect(readFileSync(join(runDir, 'job.sh'), 'utf8')).toBe(job);
    writeFileSync(join(runDir, 'go'), '');
    await waitFor(join(runDir, 'finished'));
    expect(readFileSync(join(runDir, 'log'), 'utf8')).toContain(`job running in ${runDir}`);
  });

  it('keeps the job alive when the session ends with SIGHUP to its process group', async () => {
    const runDir = join(tempDir('launch-hup'), 'r');
    const job = '#!/bin/sh\nwhile [ ! -e go ]; do sleep 0.05; done\necho survived >finished\n';
    const [cmd, ...pre] = shell.argv as [string, ...string[]];
    // detached: the launcher leads its own process group, like the agent's session; the HUP goes to that group.
    const launcher = spawn(cmd, [...pre, '-c', `${buildLaunchScript(runDir, job)}`], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    launcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': stdout may still hold the "started" line when the process has exited
    await new Promise((r) => launcher.once('close', r));
    const pid = Number(/started (\d+)/.exec(out)?.[1]);
    stopJobWhenFinished(pid);
    try {
      process.kill(-(launcher.pid ?? 0), 'SIGHUP');
    } catch {
      // the group is usually empty by now: setsid moved the job out of it, which is one of its two defences
    }
    // the other defence, an ignored HUP, is tested by a HUP that certainly arrives (this throws if the job is gone)
    process.kill(pid, 'SIGHUP');

    // kill() leaves the HUP pending at once: a job it killed never gets to write `finished` below
    expect(isAlive(pid)).toBe(true);
    writeFileSync(join(runDir, 'go'), '');
    await waitFor(join(runDir, 'finished'));
  });

  it('exits non-zero with a message when the run directory cannot be created', async () => {
    const base = tempDir('launch-bad');
    writeFileSync(join(base, 'file'), '');

    const result = await runShell(shell, ['-c', buildLaunchScript(join(base, 'file', 'run'), 'echo hi\n')]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: cannot create the run directory');
    expect(result.stdout).toBe('');
  });

  it('writes a job script holding quotes, backslashes and heredoc-like lines byte for byte', async () => {
    const runDir = join(tempDir('launch-bytes'), 'r');
    const job = `#!/bin/sh\n# it's "quoted" \\ and $HOME \`x\`\ncat <<'EOF'\nEOF\n: >done-marker\n`;

    const result = await runShell(shell, ['-c', buildLaunchScript(runDir, job)]);

    expect(result.code).toBe(0);
    expect(readFileSync(join(runDir, 'job.sh'), 'utf8')).toBe(job);
    await waitFor(join(runDir, 'done-marker'));
  });
});
