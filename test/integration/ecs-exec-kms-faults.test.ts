import type { ECSClient } from '@aws-sdk/client-ecs';
import { TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ChannelClosedError,
  ExecDeadlineError,
  KmsAccessDeniedError,
  KmsHandshakeError,
  KmsHandshakeTimeoutError,
  KmsKeyDisabledError,
  KmsPayloadError,
} from '../../functions/shared/exec/errors.js';
import { EcsExec } from '../../functions/shared/exec/exec-client.js';
import type { Standin, StandinDefinition } from '../../scripts/standin/index.js';
import { startMotoKms, type MotoCredentials, type MotoKms } from '../helpers/moto-kms.js';
import { execClientsFor, execute, ssmClientFor, startStandinWithClient, unreachableKms } from '../helpers/standin.js';

/**
 * Every way a KMS-encrypted session fails, through the stand-in and moto's KMS with IAM enforced (the
 * orchestrator's user may GenerateDataKey, the task's Decrypt): each gives its typed error, the command never
 * runs or is stopped, and no session is left open.
 */

const TASK = '7'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'kms-faults-'));
/** The agent's handshake wait, shortened (15 s in AWS), but long enough for a data key on a busy machine. */
const AGENT_HANDSHAKE_MS = 5000;

let moto: MotoKms;
let standin: Standin;
let ecs: ECSClient;
let orchestrator: MotoCredentials;
let noKms: MotoCredentials;
let disabledKeyArn: string;

const definition = (keyArn: string, otherKeyArn: string): StandinDefinition => ({
  clusters: [
    { name: 'enc', kmsKeyId: keyArn, tasks: [{ id: TASK, service: 'pg', containers: [{ name: 'db' }] }] },
    { name: 'enc-disabled', kmsKeyId: otherKeyArn, tasks: [{ id: TASK, service: 'pg', containers: [{ name: 'db' }] }] },
    { name: 'plain', tasks: [{ id: TASK, service: 'pg', containers: [{ name: 'db' }] }] },
  ],
});

beforeAll(async () => {
  moto = await startMotoKms({ enforceIam: true });
  const key = await moto.createKey();
  const other = await moto.createKey();
  disabledKeyArn = other.arn;
  await moto.disableKey(other.keyId);
  orchestrator = await moto.user('orchestrator', ['kms:GenerateDataKey']);
  noKms = await moto.user('no-kms', ['kms:DescribeKey']);
  const task = await moto.user('task', ['kms:Decrypt']);
  ({ standin, ecs } = await startStandinWithClient(definition(key.arn, other.arn), { kms: moto.client(task), timings: { handshakeTimeoutMs: AGENT_HANDSHAKE_MS } }));
});
beforeEach(() => standin.setFaults({}));
afterAll(async () => {
  ecs?.destroy();
  await standin?.stop();
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const execAs = (credentials: MotoCredentials, extra: { handshakeTimeoutMs?: number } = {}) => new EcsExec({ ...execClientsFor(standin, ecs, moto.client(credentials)), ...extra });
const file = (name: string) => join(dir, name);
/** Writes the shell's pid, then a file, then works for `seconds`: shows whether it ran and whether it was stopped. */
const script = (name: string, seconds = 30) => `echo $$ > ${file(`${name}.pid`)}; echo started; sleep ${seconds}; touch ${file(`${name}.done`)}`;

function terminateCalls(): string[] {
  return standin.calls.filter((c) => c.operation === 'TerminateSession').map((c) => (c.input as { SessionId: string }).SessionId);
}

async function settled(): Promise<void> {
  for (let i = 0; i < 100 && standin.activeSessions() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(standin.activeSessions()).toBe(0);
}

describe('ECS Exec on a KMS cluster: faults', () => {
  it('works with the least permissions: GenerateDataKey for the orchestrator, Decrypt for the task', async () => {
    expect(await execAs(orchestrator).run({ cluster: 'enc', task: TASK, container: 'db', script: 'echo fine; exit 6' })).toMatchObject({ output: 'fine\n', exitCode: 6 });
    await settled();
  });

  it.each([
    ['the caller may not kms:GenerateDataKey', () => execAs(noKms), 'enc', KmsAccessDeniedError, /not allowed to kms:GenerateDataKey .*execKmsKeys/],
    ['the key is disabled', () => execAs(orchestrator), 'enc-disabled', KmsKeyDisabledError, /is disabled.*enable it/],
  ])('fails with a typed error when %s; nothing runs and the session is terminated', async (name, client, cluster, type, message) => {
    const tag = name.replace(/\W/g, '');
    const before = terminateCalls().length;
    const error = await client().run({ cluster, task: TASK, container: 'db', script: script(tag) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    if (cluster === 'enc-disabled') expect((error as Error).message).toContain(disabledKeyArn);
    expect(terminateCalls().length - before).toBe(1);
    await settled();
    expect(existsSync(file(`${tag}.pid`))).toBe(false);
  });

  it('fails with KmsHandshakeError when the task role may not kms:Decrypt the data key', async () => {
    const decryptless = await startStandinWithClient(definition(...(await keys())), { kms: moto.client(noKms) });
    try {
      const client = new EcsExec({ ...execClientsFor(decryptless.standin, decryptless.ecs, moto.client(orchestrator)) });
      const error = await client.run({ cluster: 'enc', task: TASK, container: 'db', script: script('nodecrypt') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KmsHandshakeError);
      expect((error as KmsHandshakeError).serviceOutput).toMatch(/Fetching data key failed.*AccessDeniedException/);
      expect((error as Error).message).toMatch(/allow kms:Decrypt on the cluster's exec key to the task role/);
      expect(existsSync(file('nodecrypt.pid'))).toBe(false);
    } finally {
      decryptless.ecs.destroy();
      await decryptless.standin.stop();
    }
  });

  it('fails with KmsHandshakeError when the agent holds the key halves the wrong way round', async () => {
    standin.setFaults({ kmsWrongKeyHalves: true });
    const error = await execAs(orchestrator).run({ cluster: 'enc', task: TASK, container: 'db', script: script('halves') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmsHandshakeError);
    expect((error as Error).message).toMatch(/hold different keys/);
    await settled();
    expect(existsSync(file('halves.pid'))).toBe(false);
  });

  it('fails with KmsPayloadError on a corrupted ciphertext frame and stops the command', async () => {
    standin.setFaults({ corruptCiphertextFrame: 0 });
    const before = terminateCalls().length;
    await expect(execAs(orchestrator).run({ cluster: 'enc', task: TASK, container: 'db', script: script('corrupt') })).rejects.toBeInstanceOf(KmsPayloadError);
    expect(terminateCalls().length - before).toBe(1);
    await settled();
    const pid = Number(readFileSync(file('corrupt.pid'), 'utf8'));
    await expectStopped(pid);
  });

  it('fails with KmsHandshakeTimeoutError when KMS answers after the agent stopped waiting', async () => {
    moto.delay('GenerateDataKey', AGENT_HANDSHAKE_MS + 1500);
    try {
      const error = await execAs(orchestrator).run({ cluster: 'enc', task: TASK, container: 'db', script: script('slowkms') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KmsHandshakeTimeoutError);
      expect((error as Error).message).toMatch(/the agent stopped waiting for the handshake \(Handshake timed out/);
    } finally {
      moto.delay('GenerateDataKey', 0);
    }
    await settled();
    expect(existsSync(file('slowkms.pid'))).toBe(false);
  });

  it('gives up itself with KmsHandshakeTimeoutError at its own limit, and terminates the session', async () => {
    moto.delay('GenerateDataKey', 1500);
    const before = terminateCalls().length;
    try {
      const error = await execAs(orchestrator, { handshakeTimeoutMs: 500 }).run({ cluster: 'enc', task: TASK, container: 'db', script: script('ownlimit') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KmsHandshakeTimeoutError);
      expect((error as Error).message).toMatch(/did not complete within 500 ms/);
    } finally {
      moto.delay('GenerateDataKey', 0);
    }
    expect(terminateCalls().length - before).toBe(1);
    await settled();
    expect(existsSync(file('ownlimit.pid'))).toBe(false);
  });

  it('on the deadline, sends a sealed Ctrl-C, terminates the session and nothing keeps running', async () => {
    const before = terminateCalls().length;
    await expect(execAs(orchestrator).run({ cluster: 'enc', task: TASK, container: 'db', script: script('deadline'), timeoutMs: 2500 })).rejects.toBeInstanceOf(ExecDeadlineError);
    expect(terminateCalls().length - before).toBe(1);
    await settled();
    const pid = Number(readFileSync(file('deadline.pid'), 'utf8'));
    await expectStopped(pid);
    expect(existsSync(file('deadline.done'))).toBe(false);
  });
});

describe('sessions per container', () => {
  it('refuses a third concurrent session in a container, and TerminateSession frees a slot', async () => {
    const client = new EcsExec(execClientsFor(standin, ecs, unreachableKms()));
    // Two sessions nobody connects to: their commands run (no KMS on this cluster) and hold both slots.
    const held = [await execute(ecs, `/bin/sh -c 'sleep 30'`, { cluster: 'plain', task: TASK, container: 'db' }), await execute(ecs, `/bin/sh -c 'sleep 30'`, { cluster: 'plain', task: TASK, container: 'db' })];
    const error = await client.run({ cluster: 'plain', task: TASK, container: 'db', script: 'echo third' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChannelClosedError);
    expect((error as ChannelClosedError).serviceOutput).toMatch(/Session limit reached: container db already has 2 ECS Exec sessions \(the agent allows 2\)/);
    const ssm = ssmClientFor(standin);
    try {
      expect(await ssm.send(new TerminateSessionCommand({ SessionId: held[0]!.sessionId }))).toMatchObject({ SessionId: held[0]!.sessionId });
      expect(standin.activeSessionIds()).toEqual([held[1]!.sessionId]);
      expect(await client.run({ cluster: 'plain', task: TASK, container: 'db', script: 'echo third' })).toMatchObject({ output: 'third\n', exitCode: 0 });
      // Terminating a session that is already over answers like SSM: with its id.
      expect(await ssm.send(new TerminateSessionCommand({ SessionId: held[0]!.sessionId }))).toMatchObject({ SessionId: held[0]!.sessionId });
      await ssm.send(new TerminateSessionCommand({ SessionId: held[1]!.sessionId }));
    } finally {
      ssm.destroy();
    }
    await settled();
  });
});

/** The process ends within a second; a zombie counts as ended (PID 1 here reaps orphans late). */
async function expectStopped(pid: number): Promise<void> {
  const running = () => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 20 && running(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(running()).toBe(false);
}

/** Fresh keys for a second stand-in (the definition needs two). */
async function keys(): Promise<[string, string]> {
  return [(await moto.createKey()).arn, disabledKeyArn];
}
