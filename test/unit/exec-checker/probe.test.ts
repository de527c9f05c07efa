import { InvokeCommand } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { runProbe, type ExecRunner } from '../../../functions/shared/exec-checker/probe.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';
import { mockedClients } from './fixtures.js';

const brief = (results: CheckResult[]) => results.map((r) => [r.verdict, r.title, r.message, r.fix]);

/** Records scripts; answers from a queue (an Error is thrown). */
function fakeExec(answers: ({ output: string; exitCode: number } | Error)[]): ExecRunner & { scripts: string[] } {
  const scripts: string[] = [];
  return {
    scripts,
    async run({ script }) {
      scripts.push(script);
      const next = answers.shift() ?? { output: '', exitCode: 0 };
      if (next instanceof Error) throw next;
      return next;
    },
  };
}

function setup(exec: ExecRunner) {
  const { clients, mocks } = mockedClients();
  let n = 0;
  const input = {
    exec,
    lambda: clients.lambda,
    cluster: 'prod',
    task: 'task-1',
    container: 'postgres',
    backupDir: '/backup',
    functionName: 'ecs-db-backup-orchestrator',
    target: 'orders-pg',
    random: () => ['aaaa', 'bbbb'][n++] ?? 'zzzz',
  };
  return { input, mocks };
}

const payload = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const written = ['green', 'Probe: write in container', '/backup/.probe-aaaa', undefined];
const cleaned = ['green', 'Probe: cleanup', 'removed /backup/.probe-aaaa', undefined];

describe('runProbe', () => {
  it('writes the probe file, asks the orchestrator with a probe request, and removes the file', async () => {
    const exec = fakeExec([]);
    const { input, mocks } = setup(exec);
    mocks.lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ ok: true, found: true, content: 'bbbb' }) as never });
    expect(brief(await runProbe(input))).toEqual([written, ['green', 'Probe: orchestrator reads it', 'ecs-db-backup-orchestrator sees .probe-aaaa with the expected content', undefined], cleaned]);
    expect(exec.scripts).toEqual(["printf '%s' 'bbbb' > '/backup/.probe-aaaa'", "rm -f '/backup/.probe-aaaa'"]);
    const call = mocks.lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(call?.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(call?.Payload as Uint8Array))).toEqual({ action: 'probe', target: 'orders-pg', file: '.probe-aaaa', expect: 'bbbb' });
  });

  it.each([
    ['does not see the file', { action: 'probe', ok: false, found: false, content: null }, ['red', 'Probe: orchestrator reads it', 'the orchestrator does not see .probe-aaaa on its EFS mount', "the container's /backup must be orders-pg's own access point, which the orchestrator reads as its directory: check the Backup mount line"]],
    ['sees other content', { action: 'probe', ok: false, found: true, content: 'x' }, ['red', 'Probe: orchestrator reads it', 'the orchestrator sees .probe-aaaa with other content ("x")', 'another writer uses the same directory; run the probe again']],
    ['cannot look', { ok: false, found: false, error: 'EACCES' }, ['red', 'Probe: orchestrator reads it', 'ecs-db-backup-orchestrator could not look: EACCES', "check the orchestrator's EFS mount (the EFS mount target lines) and its log"]],
    ['answers with no JSON', 'null-ish', ['red', 'Probe: orchestrator reads it', 'ecs-db-backup-orchestrator answered with something that is not JSON: null-ish', 'deploy the current orchestrator; it answers probe requests']],
  ])('reports an orchestrator that %s, and still cleans up', async (_, answer, expected) => {
    const exec = fakeExec([]);
    const { input, mocks } = setup(exec);
    mocks.lambda.on(InvokeCommand).resolves({ Payload: payload(answer) as never });
    expect(brief(await runProbe(input))).toEqual([written, expected, cleaned]);
  });

  it('reports a function error', async () => {
    const { input, mocks } = setup(fakeExec([]));
    mocks.lambda.on(InvokeCommand).resolves({ FunctionError: 'Unhandled', Payload: payload({ errorMessage: 'unknown action' }) as never });
    expect(brief(await runProbe(input))[1]).toEqual([
      'red', 'Probe: orchestrator reads it', 'ecs-db-backup-orchestrator failed (Unhandled): {"errorMessage":"unknown action"}', "read the orchestrator's log; a deployment older than the probe action answers with an error",
    ]);
  });

  it('reports an invoke that is refused', async () => {
    const { input, mocks } = setup(fakeExec([]));
    mocks.lambda.on(InvokeCommand).rejects(new Error('AccessDeniedException'));
    expect(brief(await runProbe(input))[1]).toEqual(['red', 'Probe: orchestrator reads it', 'invoking ecs-db-backup-orchestrator failed: AccessDeniedException', 'allow lambda:InvokeFunction on ecs-db-backup-orchestrator for the caller']);
  });

  it.each([
    ['exits non-zero', { output: "sh: can't create /backup/.probe-aaaa: Permission denied\n", exitCode: 2 }, [
      'red', 'Probe: write in container', "writing /backup/.probe-aaaa exited 2: sh: can't create /backup/.probe-aaaa: Permission denied",
      "make /backup writable for the container's user (check the Backup mount line and the access point's POSIX user)",
    ]],
    ['cannot start', new Error('TargetNotConnectedException'), ['red', 'Probe: write in container', 'ECS Exec into postgres failed: TargetNotConnectedException', 'fix the [FAIL] lines above first; the probe needs a working ECS Exec session']],
  ])('stops when the write %s, without invoking the orchestrator', async (_, answer, expected) => {
    const { input, mocks } = setup(fakeExec([answer]));
    expect(brief(await runProbe(input))).toEqual([expected]);
    expect(mocks.lambda.calls()).toHaveLength(0);
  });

  it.each([
    ['fails', { output: 'rm: busy', exitCode: 1 }, ['yellow', 'Probe: cleanup', 'rm exited 1: rm: busy', 'remove /backup/.probe-aaaa by hand']],
    ['throws', new Error('connection lost'), ['yellow', 'Probe: cleanup', 'could not remove /backup/.probe-aaaa: connection lost', 'remove /backup/.probe-aaaa by hand']],
  ])('warns when the cleanup %s', async (_, answer, expected) => {
    const { input, mocks } = setup(fakeExec([{ output: '', exitCode: 0 }, answer]));
    mocks.lambda.on(InvokeCommand).resolves({ Payload: payload({ ok: true, found: true, content: 'bbbb' }) as never });
    expect(brief(await runProbe(input))[2]).toEqual(expected);
  });
});
