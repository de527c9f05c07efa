import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { shlexSplit } from '../../scripts/standin/shlex.js';
import { ackFrame, decodeFrame, encodeFrame, Flags, MessageType, parseAck, PayloadType, streamFrame, type Frame } from '../../functions/shared/exec/frame.js';
import { challengePayload, handshakeCompletePayload, handshakeRequestPayload, parseChallenge, parseHandshakeResponse } from '../../functions/shared/exec/kms-handshake.js';
import { SessionCipher } from '../../functions/shared/exec/session-cipher.js';

/**
 * A minimal, scriptable agent side of the SSM data channel on a loopback WebSocket, for unit and property
 * tests of the client. Each test drives it by hand (send this frame, wait for that ack); the full stand-in
 * with a real pty lives in scripts/standin/.
 */

/** What the peer does by itself; everything else is up to the test. */
export interface FakeAgentPeerOptions {
  /** Expected TokenValue; a mismatch closes the socket with 4001. */
  token?: string;
  /** Ack this client stream frame? (default: yes, every one). Called on each arrival, retransmissions included. */
  ackInput?: (frame: Frame, arrival: number) => boolean;
  /** Answer WebSocket pings (default true); false simulates a peer that went silent. */
  autoPong?: boolean;
}

/** A frame the client sent, with when it arrived. */
export interface ReceivedFrame {
  frame: Frame;
  at: number;
}

/** One client connection, driven by the test. */
export class PeerConnection {
  /** The opening text frame, parsed. */
  openMessage: Record<string, unknown> | undefined;
  /** Every binary frame from the client, in arrival order. */
  readonly received: ReceivedFrame[] = [];
  /** Sequence numbers of our output frames the client acked (each ack counted). */
  readonly ackCounts = new Map<bigint, number>();
  private nextSeq = 0n;
  private readonly waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  constructor(
    readonly ws: WebSocket,
    private readonly options: FakeAgentPeerOptions,
    /** Path and query the client connected to. */
    readonly path: string,
  ) {
    this.closed = once(ws, 'close').then(() => undefined);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      this.openMessage = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      if (this.options.token !== undefined && this.openMessage.TokenValue !== this.options.token) this.ws.close(4001, 'bad token');
    } else {
      const frame = decodeFrame(data);
      const at = Date.now();
      this.received.push({ frame, at });
      if (frame.messageType === MessageType.Acknowledge) {
        const seq = BigInt(parseAck(frame).AcknowledgedMessageSequenceNumber);
        this.ackCounts.set(seq, (this.ackCounts.get(seq) ?? 0) + 1);
      } else if (frame.messageType === MessageType.InputStreamData && (this.options.ackInput?.(frame, at) ?? true)) {
        this.send(ackFrame(frame));
      }
    }
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Client stream frames (input_stream_data), retransmissions included. */
  inputFrames(): Frame[] {
    return this.received.filter((r) => r.frame.messageType === MessageType.InputStreamData).map((r) => r.frame);
  }

  /** Waits until `check` holds (re-checked on every client frame); rejects after `timeoutMs`. */
  async waitUntil(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!check()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`fake agent peer: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the opening text frame. */
  async opened(): Promise<Record<string, unknown>> {
    await this.waitUntil(() => this.openMessage !== undefined, 'the OpenDataChannel text frame');
    return this.openMessage as Record<string, unknown>;
  }

  /** Builds the next output frame (SYN on seq 0) without sending it. */
  output(payload: string | Buffer, payloadType: number = PayloadType.Output): Frame {
    const seq = this.nextSeq++;
    return streamFrame(MessageType.OutputStreamData, seq, payloadType, Buffer.from(payload), seq === 0n ? Flags.Syn : Flags.None);
  }

  /** Sends a frame as is. */
  send(frame: Frame): void {
    this.ws.send(encodeFrame(frame));
  }

  /** Builds and sends the next output frame. */
  sendOutput(payload: string | Buffer, payloadType: number = PayloadType.Output): Frame {
    const frame = this.output(payload, payloadType);
    this.send(frame);
    return frame;
  }

  /** Sends start/pause_publication with a wrong PayloadLength and digest, as MGS does (spec §1.2). */
  sendPublication(kind: 'start' | 'pause'): void {
    const type = kind === 'start' ? MessageType.StartPublication : MessageType.PausePublication;
    const bytes = encodeFrame({ messageType: type, schemaVersion: 1, createdDate: Date.now(), sequenceNumber: 0n, flags: Flags.SynFin, messageId: crypto.randomUUID(), payloadType: 0, payload: Buffer.from('{}') });
    bytes.fill(0xab, 80, 112);
    bytes.writeUInt32LE(2, 116);
    this.ws.send(bytes);
  }

  /** Sends channel_closed (PayloadType 261, as seen live) with the given Output. */
  sendChannelClosed(output = ''): void {
    const payload = { MessageId: crypto.randomUUID(), CreatedDate: new Date().toISOString(), DestinationId: 'client', SessionId: 'fake-session', MessageType: 'channel_closed', SchemaVersion: 1, Output: output };
    this.send({ messageType: MessageType.ChannelClosed, schemaVersion: 1, createdDate: Date.now(), sequenceNumber: 0n, flags: Flags.SynFin, messageId: crypto.randomUUID(), payloadType: 261, payload: Buffer.from(JSON.stringify(payload)) });
  }

  /** Waits until the client acked our output frame `seq` at least `times` times. */
  async waitForAck(seq: bigint, times = 1): Promise<void> {
    await this.waitUntil(() => (this.ackCounts.get(seq) ?? 0) >= times, `ack ${times}× of output seq ${seq}`);
  }
}

/** A listening fake agent; `url` is what ExecuteCommand would return as streamUrl. */
export interface FakeAgentPeer {
  url: string;
  /** Resolves with each connection as the client opens it. */
  nextConnection(): Promise<PeerConnection>;
  close(): Promise<void>;
}

/** Starts a fake agent peer on 127.0.0.1 with a random port. */
export async function startFakeAgentPeer(options: FakeAgentPeerOptions = {}): Promise<FakeAgentPeer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true });
  await once(server, 'listening');
  const pending: PeerConnection[] = [];
  const waiting: ((c: PeerConnection) => void)[] = [];
  server.on('connection', (ws, request) => {
    const connection = new PeerConnection(ws, options, request.url ?? '/');
    const waiter = waiting.shift();
    if (waiter) waiter(connection);
    else pending.push(connection);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/v1/data-channel/fake-session?role=publish_subscribe`,
    nextConnection: () => {
      const ready = pending.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Plays a well-behaved agent for one connection: splits `command` with shlex, runs it without a shell (no pty:
 * `\n` is turned into `\r\n` by hand), sends its output in frames of at most 1024 bytes, waits for every ack,
 * then sends channel_closed and closes the socket.
 */
export async function serveCommand(connection: PeerConnection, command: string, cipher?: SessionCipher): Promise<void> {
  await connection.opened();
  const [file, ...args] = shlexSplit(command);
  const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const frames: Frame[] = [];
  const onData = (chunk: Buffer) => {
    const text = Buffer.from(chunk.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    for (let i = 0; i < text.length; i += 1024) {
      const chunk = text.subarray(i, i + 1024);
      frames.push(connection.sendOutput(cipher ? cipher.seal(chunk) : chunk));
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  await once(child, 'close');
  for (const frame of frames) await connection.waitForAck(frame.sequenceNumber);
  connection.sendChannelClosed();
  connection.ws.close();
}

/** What the fake agent saw of a KMS handshake. */
export interface FakeKmsHandshake {
  /** The HandshakeResponse's KMSEncryption ActionResult. */
  actionResult: Record<string, unknown>;
  /** The agent-side cipher, from the data key the test handed to the client's KMS. */
  cipher: SessionCipher;
}

/**
 * Plays the agent's side of a KMS handshake with a known data key (the test gave the same plaintext to the
 * client's mocked KMS, so no KMS is needed here): request with a random challenge, response, encryption
 * challenge, check, HandshakeComplete. Rejects when the client's answer is wrong.
 */
export async function serveKmsHandshake(connection: PeerConnection, keyId: string, dataKey: Uint8Array, challenge = 'cmFuZG9tLWNoYWxsZW5nZQ=='): Promise<FakeKmsHandshake> {
  await connection.opened();
  connection.sendOutput(handshakeRequestPayload('3.3.0.0', { keyId, challenge }), PayloadType.HandshakeRequest);
  const response = await nextInput(connection, PayloadType.HandshakeResponse);
  const kms = parseHandshakeResponse(response.payload).find((a) => a.ActionType === 'KMSEncryption');
  if (kms?.ActionStatus !== 1) throw new Error(`fake agent: the client failed KMSEncryption: ${kms?.Error}`);
  const cipher = new SessionCipher(dataKey, 'agent');
  const secret = Buffer.from('0123456789abcdef'.repeat(4));
  connection.sendOutput(challengePayload(cipher.seal(secret)), PayloadType.EncChallengeRequest);
  const answer = await nextInput(connection, PayloadType.EncChallengeResponse);
  if (!cipher.open(parseChallenge(answer.payload)).equals(secret)) throw new Error('fake agent: the challenge answer does not match');
  connection.sendOutput(handshakeCompletePayload(1_000_000n, true), PayloadType.HandshakeComplete);
  return { actionResult: kms.ActionResult as Record<string, unknown>, cipher };
}

async function nextInput(connection: PeerConnection, payloadType: number): Promise<Frame> {
  let found: Frame | undefined;
  await connection.waitUntil(() => (found = connection.inputFrames().find((f) => f.payloadType === payloadType)) !== undefined, `input of PayloadType ${payloadType}`);
  return found!;
}
