import { ECSClient, ExecuteCommandCommand } from '@aws-sdk/client-ecs';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SSMClient } from '@aws-sdk/client-ssm';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  MessageType,
  PayloadType,
  ackFrame,
  decodeFrame,
  encodeFrame,
  openDataChannelMessage,
  streamFrame,
  type Frame,
} from '../../functions/shared/exec/frame.js';
import {
  ActionStatus,
  answerChallenge,
  challengePayload,
  encryptionContext,
  handshakeResponsePayload,
  parseHandshakeRequest,
} from '../../functions/shared/exec/kms-handshake.js';
import { SessionCipher } from '../../functions/shared/exec/session-cipher.js';
import type { EcsExecOptions } from '../../functions/shared/exec/exec-client.js';
import { startStandin, type Standin, type StandinContainer, type StandinDefinition, type StandinOptions } from '../../scripts/standin/index.js';

/** Task id used by the helpers' default definition (32 hex characters, like a real one). */
export const TASK_ID = '0123456789abcdef0123456789abcdef';
/** Cluster, service and container names of the default definition. */
export const NAMES = { cluster: 'db', service: 'postgres', container: 'postgres' } as const;

/** A one-cluster, one-task definition; the container can be adjusted. */
export function oneTaskDefinition(container: Partial<StandinContainer> = {}, cluster: { kmsKeyId?: string } = {}): StandinDefinition {
  return {
    clusters: [
      {
        name: NAMES.cluster,
        ...cluster,
        tasks: [{ id: TASK_ID, service: NAMES.service, containers: [{ name: NAMES.container, ...container }] }],
      },
    ],
  };
}

/** Starts a stand-in and an ECS client pointed at it. */
export async function startStandinWithClient(def: StandinDefinition, opts?: StandinOptions): Promise<{ standin: Standin; ecs: ECSClient }> {
  const standin = await startStandin(def, opts);
  return { standin, ecs: ecsClientFor(standin) };
}

/** An SDK v3 ECS client talking to the stand-in. */
export function ecsClientFor(standin: Standin): ECSClient {
  return new ECSClient({ endpoint: standin.endpoint, region: standin.region, credentials: standin.credentials, maxAttempts: 1 });
}

/** An SDK v3 SSM client talking to the stand-in (it answers TerminateSession). */
export function ssmClientFor(standin: Standin): SSMClient {
  return new SSMClient({ endpoint: standin.endpoint, region: standin.region, credentials: standin.credentials, maxAttempts: 1 });
}

/**
 * A KMS client nobody answers (the discard port: connection refused). Given to EcsExec on clusters without a
 * KMS key, a session that asked for KMS anyway would fail, so a passing run shows that none did.
 */
export function unreachableKms(region = 'us-east-1'): KMSClient {
  return new KMSClient({ endpoint: 'http://127.0.0.1:9', region, credentials: { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' }, maxAttempts: 1 });
}

/** The clients EcsExec needs against the stand-in: its ECS and SSM, and `kms` (default: unreachableKms). */
export function execClientsFor(standin: Standin, ecs: ECSClient, kms?: KMSClient): Pick<EcsExecOptions, 'ecs' | 'ssm' | 'kms'> {
  return { ecs, ssm: ssmClientFor(standin), kms: kms ?? unreachableKms(standin.region) };
}

/** What the minimal test client saw. */
export interface RawSessionResult {
  /** Output payloads in sequence order, deduplicated. */
  output: Buffer;
  /** Every decoded frame as received (duplicates included). */
  frames: Frame[];
  /** The channel_closed payload, if one came. */
  channelClosed: { Output: string; payloadType: number } | undefined;
  closeCode: number;
  /** The client gave up (timeoutMs) before the socket closed. */
  timedOut: boolean;
  /** How many times input frames went out, retransmissions included. */
  inputSends: number;
  /** KMS sessions: Output payloads and challenges that failed AES-GCM authentication (left out of `output`). */
  undecryptable: number;
}

/** Options of the minimal client. */
export interface RawSessionOptions {
  token?: string;
  /** Send Size after the first output frame (as the plugin does). */
  sendSize?: boolean;
  /** Give up after this long (ms); the result then has timedOut. */
  timeoutMs?: number;
  /** Do not ack the first arrival of this many output frames (forces the agent to retransmit). */
  withholdAcks?: number;
  /** Answer a HandshakeRequest, refusing KMS encryption (status Failed). */
  answerHandshake?: boolean;
  /** Run the KMS handshake (instead of refusing it), and decrypt the output. */
  kms?: RawKmsOptions;
  /** Called once the socket is open and the opening message (the token) is sent. */
  onOpen?: () => void;
}

/** How the minimal client runs a KMS handshake. */
export interface RawKmsOptions {
  /** Makes the data key (a client of moto's KMS). */
  client: KMSClient;
  sessionId: string;
  /** `ecs:<cluster>_<taskId>_<runtimeId>`. */
  targetId: string;
  /** 'correct' re-seals the agent's challenge; 'wrong' answers with other bytes under the right key. */
  challenge?: 'correct' | 'wrong';
  /** Acknowledge the random challenge (its value joins the encryption context). Default true. */
  acknowledge?: boolean;
}

/**
 * A deliberately small data-channel client for testing the stand-in's agent side without the real client:
 * acks every output frame, reorders by sequence number, collects Output payloads.
 */
export async function rawSession(streamUrl: string, token: string, options: RawSessionOptions = {}): Promise<RawSessionResult> {
  const ws = new WebSocket(streamUrl);
  const frames: Frame[] = [];
  const received = new Map<bigint, Frame>();
  const outputs: Buffer[] = [];
  let expected = 0n;
  let inputSeq = 0n;
  let channelClosed: RawSessionResult['channelClosed'];
  let sizeSent = false;
  let timedOut = false;
  let inputSends = 0;
  let withheld = 0;
  const unackedInput = new Map<bigint, Buffer>();
  let cipher: SessionCipher | undefined;
  let undecryptable = 0;
  const sendInput = (payloadType: number, payload: string | Buffer) => {
    const bytes = encodeFrame(streamFrame(MessageType.InputStreamData, inputSeq, payloadType, Buffer.from(payload)));
    unackedInput.set(inputSeq++, bytes);
    inputSends++;
    ws.send(bytes);
  };
  const resend = setInterval(() => {
    for (const bytes of unackedInput.values()) {
      inputSends++;
      ws.send(bytes);
    }
  }, 200);
  return new Promise<RawSessionResult>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      ws.terminate();
    }, options.timeoutMs ?? 20_000);
    ws.on('open', () => {
      ws.send(openDataChannelMessage(options.token ?? token));
      options.onOpen?.();
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const frame = decodeFrame(data as Buffer);
      frames.push(frame);
      if (frame.messageType === MessageType.OutputStreamData) {
        const firstArrival = frame.sequenceNumber >= expected && !received.has(frame.sequenceNumber);
        if (firstArrival && withheld < (options.withholdAcks ?? 0)) {
          withheld++;
          return;
        }
        ws.send(encodeFrame(ackFrame(frame)));
        if (frame.sequenceNumber >= expected) received.set(frame.sequenceNumber, frame);
        for (let next = received.get(expected); next; next = received.get(expected)) {
          received.delete(expected);
          expected++;
          if (next.payloadType === PayloadType.Output) {
            try {
              outputs.push(cipher ? cipher.open(next.payload) : next.payload);
            } catch {
              undecryptable++;
            }
          }
          if (next.payloadType === PayloadType.HandshakeRequest && options.kms) {
            void rawKmsResponse(options.kms, next.payload).then(({ response, sessionCipher }) => {
              cipher = sessionCipher;
              sendInput(PayloadType.HandshakeResponse, response);
            });
          } else if (next.payloadType === PayloadType.HandshakeRequest && options.answerHandshake) {
            sendInput(PayloadType.HandshakeResponse, REFUSE_KMS);
          }
          if (next.payloadType === PayloadType.EncChallengeRequest && cipher) {
            try {
              const answer = options.kms?.challenge === 'wrong' ? challengePayload(cipher.seal(randomBytes(64))) : answerChallenge(cipher, next.payload);
              sendInput(PayloadType.EncChallengeResponse, answer);
            } catch {
              undecryptable++; // a challenge sealed with another key: no answer, the agent gives up
            }
          }
        }
        if (options.sendSize && !sizeSent) {
          sizeSent = true;
          sendInput(PayloadType.Size, '{"cols":300,"rows":100}');
        }
      } else if (frame.messageType === MessageType.Acknowledge) {
        const content = JSON.parse(frame.payload.toString('utf8')) as { AcknowledgedMessageSequenceNumber: number };
        unackedInput.delete(BigInt(content.AcknowledgedMessageSequenceNumber));
      } else if (frame.messageType === MessageType.ChannelClosed) {
        const content = JSON.parse(frame.payload.toString('utf8')) as { Output: string };
        channelClosed = { Output: content.Output, payloadType: frame.payloadType };
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(resend);
      resolve({ output: Buffer.concat(outputs), frames, channelClosed, closeCode: code, timedOut, inputSends, undecryptable });
    });
  });
}

/** GenerateDataKey for the agent's KMSEncryption action, and the HandshakeResponse carrying its blob. */
async function rawKmsResponse(kms: RawKmsOptions, requestPayload: Buffer): Promise<{ response: Buffer; sessionCipher: SessionCipher }> {
  const request = parseHandshakeRequest(requestPayload).kms!;
  const acknowledge = (kms.acknowledge ?? true) && request.challenge !== undefined;
  const key = await kms.client.send(
    new GenerateDataKeyCommand({ KeyId: request.keyId, NumberOfBytes: 64, EncryptionContext: encryptionContext(kms.sessionId, kms.targetId, acknowledge ? request.challenge : undefined) }),
  );
  const result = { KMSCipherTextKey: Buffer.from(key.CiphertextBlob!).toString('base64'), KMSCipherTextHash: null, ...(acknowledge ? { ChallengeAcknowledgement: true } : {}) };
  const response = handshakeResponsePayload([
    { ActionType: 'SessionType', ActionStatus: ActionStatus.Success, ActionResult: null, Error: '' },
    { ActionType: 'KMSEncryption', ActionStatus: ActionStatus.Success, ActionResult: result, Error: '' },
  ]);
  return { response, sessionCipher: new SessionCipher(key.Plaintext!, 'client') };
}

const REFUSE_KMS = JSON.stringify({
  ClientVersion: '1.2.0.0',
  ProcessedClientActions: [
    { ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' },
    { ActionType: 'KMSEncryption', ActionStatus: 2, ActionResult: null, Error: 'KMS encryption is not supported by this client' },
  ],
  Errors: null,
});

/** ExecuteCommand through the SDK, returning the session. */
export async function execute(ecs: ECSClient, command: string, overrides: { task?: string; container?: string; cluster?: string } = {}) {
  const response = await ecs.send(
    new ExecuteCommandCommand({
      cluster: overrides.cluster ?? NAMES.cluster,
      task: overrides.task ?? TASK_ID,
      container: overrides.container ?? NAMES.container,
      interactive: true,
      command,
    }),
  );
  const session = response.session!;
  return { response, streamUrl: session.streamUrl!, token: session.tokenValue!, sessionId: session.sessionId! };
}
