import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentNotRunningError,
  ExecDeadlineError,
  ExecNotEnabledError,
  KmsSessionNotSupportedError,
  NoRunningTaskError,
  TaskNotFoundError,
} from '../../functions/shared/exec/errors.js';
import { EcsExec } from '../../functions/shared/exec/exec-client.js';
import { pickTask } from '../../functions/shared/exec/task-picker.js';
import type { Standin, StandinDefinition } from '../../scripts/standin/index.js';
import { isAlive } from '../helpers/exec.js';
import { startStandinWithClient } from '../helpers/standin.js';

const DASH = '1'.repeat(32);
const BUSYBOX = '2'.repeat(32);
const NO_EXEC = '3'.repeat(32);
const AGENT_STOPPED = '4'.repeat(32);
const KMS_TASK = '5'.repeat(32);
const hostDir = mkdtempSync(join(tmpdir(), 'ecs-exec-mount-'));

const definition: StandinDefinition = {
  clusters: [
    {
      name: 'apps',
      tasks: [
        { id: DASH, service: 'pg', startedAt: '2026-05-02T00:00:00Z', containers: [{ name: 'db', env: { PGDATABASE: 'app' }, mounts: { '/standin-it/backup': hostDir } }] },
        { id: BUSYBOX, service: 'redis', containers: [{ name: 'db', shell: 'busybox' }] },
        { id: NO_EXEC, service: 'off', enableExecuteCommand: false, containers: [{ name: 'db' }] },
        { id: AGENT_STOPPED, service: 'stale', containers: [{ name: 'db', agentStatus: 'STOPPED' }] },
      ],
    },
    { name: 'encrypted', kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/exec', tasks: [{ id: KMS_TASK, service: 'pg', containers: [{ name: 'db' }] }] },
  ],
};

let standin: Standin;
let ecs: ECSClient;
let exec: EcsExec;

beforeAll(async () => {
  ({ standin, ecs } = await startStandinWithClient(definition));
  exec = new EcsExec({ ecs, retry: { baseDelayMs: 10 } });
});
afterAll(async () => {
  ecs.destroy();
  await standin.stop();
  rmSync(hostDir, { recursive: true, force: true });
});

const inDash = (script: string, extra: { timeoutMs?: number; maxOutputBytes?: number } = {}) =>
  exec.run({ cluster: 'apps', task: DASH, container: 'db', script, ...extra });

describe('ECS Exec end to end through the stand-in', () => {
  it.each([
    ['exits 0', 'echo ok', 'ok\n', 0],
    ['exits 1', 'echo failing; exit 1', 'failing\n', 1],
    ['exits 2', 'echo usage >&2; exit 2', 'usage\n', 2],
    ['exits 255', 'exit 255', '', 255],
  ])('returns the exact output and status of a command that %s', async (_name, script, output, exitCode) => {
    const result = await inDash(script);
    expect({ output: result.output, exitCode: result.exitCode, droppedBytes: result.droppedBytes }).toEqual({ output, exitCode, droppedBytes: 0 });
    expect(result.sessionId).toMatch(/^ecs-execute-command-/);
  });

  it('returns 127 and the shell message for a command that does not exist', async () => {
    const result = await inDash('no-such-command-xyz');
    expect(result.exitCode).toBe(127);
    expect(result.output).toMatch(/no-such-command-xyz: not found\n$/);
  });

  it('keeps quotes, unicode and # intact', async () => {
    const script = `printf '%s\\n' "it's \\"quoted\\"" 'héllo wörld ✓ 日本' '#not-a-comment' "a # b"`;
    const result = await inDash(script);
    expect(result.output).toBe(`it's "quoted"\nhéllo wörld ✓ 日本\n#not-a-comment\na # b\n`);
    expect(result.exitCode).toBe(0);
  });

  it('sees the container environment', async () => {
    expect((await inDash('echo "$PGDATABASE"')).output).toBe('app\n');
  });

  it('caps 5 MB of output and counts the rest, keeping the exit status', async () => {
    const cap = 256 * 1024;
    const result = await inDash(`head -c 5000000 /dev/zero | tr '\\0' x; exit 3`, { maxOutputBytes: cap, timeoutMs: 120_000 });
    expect(result.output.length).toBe(cap);
    expect(result.output).toBe('x'.repeat(cap));
    expect(result.droppedBytes).toBe(5_000_000 - cap);
    expect(result.exitCode).toBe(3);
  });

  it('fails with ExecDeadlineError when the command outlives the deadline', async () => {
    await expect(inDash('sleep 30', { timeoutMs: 1500 })).rejects.toBeInstanceOf(ExecDeadlineError);
  });

  it('ends the session promptly while a detached setsid nohup job keeps running', async () => {
    const result = await inDash('setsid nohup sleep 30 </dev/null >/dev/null 2>&1 & echo $!', { timeoutMs: 10_000 });
    const pid = Number(result.output.trim());
    try {
      expect(result.exitCode).toBe(0);
      expect(isAlive(pid)).toBe(true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  it('runs the script with busybox sh in a busybox container', async () => {
    const result = await exec.run({ cluster: 'apps', task: BUSYBOX, container: 'db', script: 'readlink -f /proc/$$/exe >/dev/null; sh --help 2>&1 | head -n 1 | cut -d " " -f 1; exit 4' });
    expect(result).toMatchObject({ output: 'BusyBox\n', exitCode: 4 });
  });

  it('writes through the container path into the mounted host directory', async () => {
    const result = await inDash('echo dump > /standin-it/backup/run.txt && ls /standin-it/backup');
    expect(result.output).toBe('run.txt\n');
    expect(readFileSync(join(hostDir, 'run.txt'), 'utf8')).toBe('dump\n');
  });

  it('picks the RUNNING task of a service and runs in it', async () => {
    const picked = await pickTask(ecs, 'apps', 'pg', 'db');
    expect(picked.taskId).toBe(DASH);
    expect((await exec.run({ cluster: 'apps', task: picked.taskArn, container: 'db', script: 'echo picked' })).output).toBe('picked\n');
  });

  it.each([
    ['exec is not enabled on the task', NO_EXEC, ExecNotEnabledError],
    ['the exec agent is stopped', AGENT_STOPPED, AgentNotRunningError],
    ['the task does not exist', '6'.repeat(32), TaskNotFoundError],
  ])('fails with a typed error when %s', async (_name, task, errorClass) => {
    await expect(exec.run({ cluster: 'apps', task, container: 'db', script: 'true' })).rejects.toBeInstanceOf(errorClass);
  });

  it('refuses a cluster that encrypts exec sessions with KMS', async () => {
    await expect(exec.run({ cluster: 'encrypted', task: KMS_TASK, container: 'db', script: 'true' })).rejects.toBeInstanceOf(KmsSessionNotSupportedError);
  });

  it('reports a service without tasks as NoRunningTaskError', async () => {
    await expect(pickTask(ecs, 'apps', 'none', 'db')).rejects.toBeInstanceOf(NoRunningTaskError);
  });

  it('leaves no session open behind', async () => {
    await inDash('true');
    expect(standin.activeSessions()).toBe(0);
  });
});
