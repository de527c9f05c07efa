import { ECSClient, ExecuteCommandCommand } from '@aws-sdk/client-ecs';
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
  /** Answer a HandshakeRequest, refusing KMS encryption like the real client does. */
  answerHandshake?: boolean;
  /** Called once the socket is open and the opening message (the token) is sent. */
  onOpen?: () => void;
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
  const sendInput = (payloadType: number, payload: string) => {
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
          if (next.payloadType === PayloadType.Output) outputs.push(next.payload);
          if (next.payloadType === PayloadType.HandshakeRequest && options.answerHandshake) sendInput(PayloadType.HandshakeResponse, REFUSE_KMS);
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
      resolve({ output: Buffer.concat(outputs), frames, channelClosed, closeCode: code, timedOut, inputSends });
    });
  });
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
