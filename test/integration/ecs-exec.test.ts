import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentNotRunningError,
  ExecDeadlineError,
  ExecNotEnabledError,
  NoRunningTaskError,
  TaskNotFoundError,
} from '../../functions/shared/exec/errors.js';
import { EcsExec } from '../../functions/shared/exec/exec-client.js';
import { pickTask } from '../../functions/shared/exec/task-picker.js';
import type { Standin, StandinDefinition, StandinTask } from '../../scripts/standin/index.js';
import { isAlive } from '../helpers/exec.js';
import { startMotoKms, type MotoKms } from '../helpers/moto-kms.js';
import { execClientsFor, startStandinWithClient, unreachableKms } from '../helpers/standin.js';

const DASH = '1'.repeat(32);
const BUSYBOX = '2'.repeat(32);
const NO_EXEC = '3'.repeat(32);
const AGENT_STOPPED = '4'.repeat(32);
const hostDir = mkdtempSync(join(tmpdir(), 'ecs-exec-mount-'));

const tasks = (): StandinTask[] => [
  { id: DASH, service: 'pg', startedAt: '2026-05-02T00:00:00Z', containers: [{ name: 'db', env: { PGDATABASE: 'app' }, mounts: { '/standin-it/backup': hostDir } }] },
  { id: BUSYBOX, service: 'redis', containers: [{ name: 'db', shell: 'busybox' }] },
  { id: NO_EXEC, service: 'off', enableExecuteCommand: false, containers: [{ name: 'db' }] },
  { id: AGENT_STOPPED, service: 'stale', containers: [{ name: 'db', agentStatus: 'STOPPED' }] },
];

/** The same tasks twice: in a cluster without an exec KMS key, and in one whose sessions are KMS-encrypted. */
const definition = (keyArn: string): StandinDefinition => ({
  clusters: [
    { name: 'apps', tasks: tasks() },
    { name: 'apps-kms', kmsKeyId: keyArn, tasks: tasks() },
  ],
});

let moto: MotoKms;
let standin: Standin;
let ecs: ECSClient;
const execs = new Map<string, EcsExec>();

beforeAll(async () => {
  moto = await startMotoKms();
  const key = await moto.createKey();
  ({ standin, ecs } = await startStandinWithClient(definition(key.arn), { kms: moto.client() }));
  // Without a KMS key the client gets a KMS nobody answers: a handshake there would fail the test.
  const kmsOf: Record<string, KMSClient> = { apps: unreachableKms(), 'apps-kms': moto.client() };
  for (const [cluster, kms] of Object.entries(kmsOf)) execs.set(cluster, new EcsExec({ ...execClientsFor(standin, ecs, kms), retry: { baseDelayMs: 10 } }));
});
afterAll(async () => {
  ecs.destroy();
  await standin?.stop();
  await moto?.stop();
  rmSync(hostDir, { recursive: true, force: true });
});

describe.each([
  ['a cluster without an exec KMS key', 'apps'],
  ['a cluster that encrypts exec sessions with KMS', 'apps-kms'],
])('ECS Exec end to end through the stand-in, %s', (_mode, cluster) => {
  const exec = { run: (options: Parameters<EcsExec['run']>[0]) => execs.get(cluster)!.run(options) };
  const inDash = (script: string, extra: { timeoutMs?: number; maxOutputBytes?: number } = {}) =>
    exec.run({ cluster, task: DASH, container: 'db', script, ...extra });

  it(cluster === 'apps' ? 'runs no handshake and asks KMS for nothing' : 'makes one data key per session and the agent decrypts it', async () => {
    const before = moto.operations.length;
    expect(await inDash('echo handshake')).toMatchObject({ output: 'handshake\n', exitCode: 0 });
    expect(moto.operations.slice(before)).toEqual(cluster === 'apps' ? [] : ['GenerateDataKey', 'Decrypt']);
  });

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
    const result = await exec.run({ cluster, task: BUSYBOX, container: 'db', script: 'readlink -f /proc/$$/exe >/dev/null; sh --help 2>&1 | head -n 1 | cut -d " " -f 1; exit 4' });
    expect(result).toMatchObject({ output: 'BusyBox\n', exitCode: 4 });
  });

  it('writes through the container path into the mounted host directory', async () => {
    const result = await inDash('echo dump > /standin-it/backup/run.txt && ls /standin-it/backup');
    expect(result.output).toBe('run.txt\n');
    expect(readFileSync(join(hostDir, 'run.txt'), 'utf8')).toBe('dump\n');
  });

  it('picks the RUNNING task of a service and runs in it', async () => {
    const picked = await pickTask(ecs, cluster, 'pg', 'db');
    expect(picked.taskId).toBe(DASH);
    expect((await exec.run({ cluster, task: picked.taskArn, container: 'db', script: 'echo picked' })).output).toBe('picked\n');
  });

  it.each([
    ['exec is not enabled on the task', NO_EXEC, ExecNotEnabledError],
    ['the exec agent is stopped', AGENT_STOPPED, AgentNotRunningError],
    ['the task does not exist', '6'.repeat(32), TaskNotFoundError],
  ])('fails with a typed error when %s', async (_name, task, errorClass) => {
    await expect(exec.run({ cluster, task, container: 'db', script: 'true' })).rejects.toBeInstanceOf(errorClass);
  });

  it('reports a service without tasks as NoRunningTaskError', async () => {
    await expect(pickTask(ecs, cluster, 'none', 'db')).rejects.toBeInstanceOf(NoRunningTaskError);
  });

  it('leaves no session open behind', async () => {
    await inDash('true');
    expect(standin.activeSessions()).toBe(0);
  });
});
