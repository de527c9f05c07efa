import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, PayloadType } from '../../functions/shared/exec/frame.js';
import { ecsTargetId } from '../../functions/shared/exec/kms-handshake.js';
import type { AgentTimings, Standin, StandinFaults } from '../../scripts/standin/index.js';
import { startMotoKms, type MotoKms } from '../helpers/moto-kms.js';
import { NAMES, TASK_ID, execute, oneTaskDefinition, rawSession, startStandinWithClient, type RawKmsOptions, type RawSessionOptions } from '../helpers/standin.js';

/**
 * The stand-in agent on a cluster with an exec KMS key: the handshake against moto's KMS, output sealed
 * with the agent's half of the data key, and every way a client can fail it (the command never runs).
 */

let moto: MotoKms;
let keyArn: string;
let standin: Standin | undefined;
const dir = mkdtempSync(join(tmpdir(), 'standin-kms-'));

beforeAll(async () => {
  moto = await startMotoKms();
  keyArn = (await moto.createKey()).arn;
});
afterEach(async () => {
  await standin?.stop();
  standin = undefined;
});
afterAll(async () => {
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sh = (script: string) => `/bin/sh -c '${script.replaceAll("'", `'"'"'`)}'`;
/** A command that leaves a file behind when it runs at all. */
const marking = (name: string, script = 'echo ran') => sh(`touch ${join(dir, name)}; ${script}`);

interface KmsRun {
  kms?: Omit<RawKmsOptions, 'client' | 'sessionId' | 'targetId'> | false;
  client?: RawSessionOptions;
  faults?: StandinFaults;
  timings?: Partial<AgentTimings>;
  requireKmsChallengeResponse?: boolean;
}

async function run(command: string, options: KmsRun = {}) {
  const started = await startStandinWithClient(oneTaskDefinition({}, { kmsKeyId: keyArn }), {
    kms: moto.client(),
    faults: options.faults,
    timings: options.timings,
    requireKmsChallengeResponse: options.requireKmsChallengeResponse,
  });
  standin = started.standin;
  const session = await execute(started.ecs, command);
  const described = await started.ecs.send(new DescribeTasksCommand({ cluster: NAMES.cluster, tasks: [TASK_ID] }));
  started.ecs.destroy();
  const runtimeId = described.tasks![0]!.containers![0]!.runtimeId!;
  const kms = options.kms === false ? undefined : { client: moto.client(), sessionId: session.sessionId, targetId: ecsTargetId(NAMES.cluster, TASK_ID, runtimeId), ...options.kms };
  const result = await rawSession(session.streamUrl, session.token, { timeoutMs: 15_000, ...(kms ? { kms } : {}), ...options.client });
  return { ...result, text: result.output.toString('utf8') };
}

describe('stand-in agent, KMS-encrypted session', () => {
  it('runs the handshake, then the command, and seals every output frame with its half of the data key', async () => {
    const result = await run(marking('ok', 'echo "encrypted ✓"; exit 3'));
    const stream = result.frames.filter((f) => f.messageType === MessageType.OutputStreamData);
    expect(stream.slice(0, 3).map((f) => f.payloadType)).toEqual([PayloadType.HandshakeRequest, PayloadType.EncChallengeRequest, PayloadType.HandshakeComplete]);
    const request = JSON.parse(stream[0]!.payload.toString()) as { RequestedClientActions: { ActionType: string; ActionParameters: Record<string, string> }[] };
    expect(request.RequestedClientActions[1]).toMatchObject({ ActionType: 'KMSEncryption', ActionParameters: { KMSKeyId: keyArn } });
    expect(Buffer.from(request.RequestedClientActions[1]!.ActionParameters.Challenge!, 'base64')).toHaveLength(16);
    expect(JSON.parse(stream[2]!.payload.toString())).toMatchObject({ CustomerMessage: 'This session is encrypted using AWS KMS.' });
    const output = stream.filter((f) => f.payloadType === PayloadType.Output);
    expect(output.length).toBeGreaterThan(0);
    expect(output.some((f) => f.payload.includes('encrypted'))).toBe(false);
    expect(result.text).toBe('encrypted ✓\r\n');
    expect(result.undecryptable).toBe(0);
    expect(existsSync(join(dir, 'ok'))).toBe(true);
    expect(moto.operations.slice(-2)).toEqual(['GenerateDataKey', 'Decrypt']);
  });

  it('starts nothing before the handshake completes', async () => {
    moto.delay('GenerateDataKey', 1200);
    try {
      const pending = run(marking('late'));
      await new Promise((r) => setTimeout(r, 900));
      expect(existsSync(join(dir, 'late'))).toBe(false);
      expect((await pending).text).toBe('ran\r\n');
      expect(existsSync(join(dir, 'late'))).toBe(true);
    } finally {
      moto.delay('GenerateDataKey', 0);
    }
  });

  it.each([
    // Only the client that never answers waits out the (shortened) handshake wait; the others are refused at once.
    ['skips the handshake', { kms: false, timings: { handshakeTimeoutMs: 600 } } as KmsRun, /^Handshake timed out/],
    ['refuses KMS encryption', { kms: false, client: { answerHandshake: true } } as KmsRun, /KMSEncryption failed on client with status 2/],
    ['answers the encryption challenge wrongly', { kms: { challenge: 'wrong' } } as KmsRun, /Encryption challenge does not match!/],
    ['does not acknowledge the random challenge when the agent requires it', { kms: { acknowledge: false }, requireKmsChallengeResponse: true } as KmsRun, /did not acknowledge the random challenge/],
  ])('refuses a client that %s: the command never runs', async (_name, options, message) => {
    const file = `refused-${Math.random().toString(36).slice(2)}`;
    const result = await run(marking(file), options);
    expect(result.channelClosed?.Output).toMatch(message);
    expect(result.text).toBe('');
    expect(existsSync(join(dir, file))).toBe(false);
    expect(standin!.activeSessions()).toBe(0);
  });

  it('gives up on a session no client connects to once the handshake wait is over: the command never runs', async () => {
    const started = await startStandinWithClient(oneTaskDefinition({}, { kmsKeyId: keyArn }), { kms: moto.client(), timings: { handshakeTimeoutMs: 400 } });
    standin = started.standin;
    await execute(started.ecs, marking('unattended'));
    started.ecs.destroy();
    expect(standin.activeSessions()).toBe(1);
    for (let i = 0; i < 100 && standin.activeSessions() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(standin.activeSessions()).toBe(0);
    expect(existsSync(join(dir, 'unattended'))).toBe(false);
  });

  it('accepts a client that does not acknowledge the random challenge when the agent does not require it', async () => {
    // The data key's context then has no aws:ssm:RandomChallenge; the agent decrypts with the same context.
    expect((await run(sh('echo fine'), { kms: { acknowledge: false } })).text).toBe('fine\r\n');
  });

  it('with the key halves the wrong way round, seals a challenge the client cannot open: nothing runs', async () => {
    // The wait runs from the session's start: long enough for the data key even on a busy machine.
    const result = await run(marking('swapped'), { faults: { kmsWrongKeyHalves: true }, timings: { handshakeTimeoutMs: 4000 } });
    expect(result.undecryptable).toBe(1);
    expect(result.channelClosed?.Output).toBe('Timed out waiting for encryption challenge.');
    expect(existsSync(join(dir, 'swapped'))).toBe(false);
  });

  it('with a corrupted ciphertext frame, sends a frame whose digest matches but which does not authenticate', async () => {
    const result = await run(sh('echo one; sleep 0.3; echo two'), { faults: { corruptCiphertextFrame: 0 } });
    expect(result.undecryptable).toBe(1);
    expect(result.text).toBe('two\r\n');
  });
});
