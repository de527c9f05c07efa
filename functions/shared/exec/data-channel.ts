import WebSocket from 'ws';
import {
  ackFrame,
  decodeFrame,
  encodeFrame,
  Flags,
  FrameError,
  MessageType,
  openDataChannelMessage,
  parseAck,
  PayloadType,
  streamFrame,
  type Frame,
} from './frame.js';
import { RetransmissionTimer, RtoDefaults } from './rto.js';
import { ClientHandshake, type DataKeySource } from './client-handshake.js';
import { ChannelClosedError, ConnectionLostError, ExecDeadlineError, KmsHandshakeError, KmsPayloadError } from './errors.js';
import { AGENT_ENCRYPTED_TYPES, CLIENT_ENCRYPTED_TYPES } from './session-cipher.js';

/**
 * The client side of one SSM data channel session (specs/ssm-data-channel.md §1): opening frame, acks,
 * reordering, duplicate re-acks, retransmission with the adaptive RTO, the handshake and KMS encryption (with
 * client-handshake.ts), Size, the end of the session, a deadline and a ping watchdog. It knows nothing about
 * ECS: it gets a stream URL, a token and, for KMS-encrypted sessions, a source of the session data key.
 */

/** Terminal size sent once after the first output: wide, so width-aware tools do not truncate lines. */
export const DEFAULT_TERMINAL_SIZE = { cols: 1000, rows: 100 } as const;
/** How many early frames are kept while a gap is open (the plugin's capacity). */
const REORDER_CAPACITY = 10_000;
/** After `channel_closed`, how long a gap in the output may still be filled by late frames. */
const CLOSE_GAP_GRACE_MS = 2000;
/** Default wait for `channel_closed` once the output is complete. */
const DEFAULT_COMPLETION_GRACE_MS = 5000;

/** Options of one data channel session. */
export interface DataChannelOptions {
  /** `wss://ssmmessages…/v1/data-channel/<sessionId>?role=publish_subscribe`, or `ws://` for the local stand-in. */
  streamUrl: string;
  tokenValue: string;
  /** Session id, only for messages. */
  sessionId?: string;
  /** Receives each output payload, in order, exactly once. */
  onOutput: (chunk: Buffer) => void;
  /**
   * True when the output already holds everything the caller needs (checked after each output frame, so it
   * must be cheap). Then a socket that closes is not an error, and a missing `channel_closed` is waited for
   * only `completionGraceMs`.
   */
  isComplete?: () => boolean;
  /** How long to wait for `channel_closed` after isComplete() turned true (default 5000 ms). */
  completionGraceMs?: number;
  /** Absolute time (epoch ms) after which the session is abandoned with ExecDeadlineError. */
  deadline: number;
  /** Interval of WebSocket pings (default 15 000 ms). */
  pingIntervalMs?: number;
  /** No frame and no pong for this long means the connection is dead (default 45 000 ms). */
  silenceTimeoutMs?: number;
  /** Size sent after the first output frame; null sends none. */
  terminalSize?: { cols: number; rows: number } | null;
  /** Makes the session data key when the agent asks for KMS encryption; without it such a session fails. */
  kms?: DataKeySource;
  /** How long a handshake may take from the agent's request on (default 15 000 ms, the agent's own limit). */
  handshakeTimeoutMs?: number;
  /** Called when the service says the session is over (channel_closed): then there is nothing left to terminate. */
  onChannelClosed?: () => void;
}

/** How a session ended normally. */
export interface DataChannelResult {
  /**
   * `channel_closed`: the service said the session is over; `socket_closed`: the socket closed after
   * completion; `completed`: complete, but no `channel_closed` within the grace time (we closed the socket).
   */
  endedBy: 'channel_closed' | 'socket_closed' | 'completed';
}

interface Unacked {
  bytes: Buffer;
  lastSentAt: number;
}

/** Runs one data channel session to its end; resolves on a clean end, rejects with an ExecError subclass. */
export function runDataChannel(options: DataChannelOptions): Promise<DataChannelResult> {
  return new DataChannelSession(options).run();
}

class DataChannelSession {
  private readonly ws: WebSocket;
  private readonly rto = new RetransmissionTimer();
  private readonly unacked = new Map<bigint, Unacked>();
  private readonly early = new Map<bigint, Frame>();
  private readonly timers: NodeJS.Timeout[] = [];
  private nextSeq = 0n;
  private expectedSeq = 0n;
  private lastHeardAt = Date.now();
  private sizeSent = false;
  private readonly handshake: ClientHandshake;
  private graceStarted = false;
  private channelClosed = false;
  private settled = false;
  private socketError: Error | undefined;
  private resolve!: (result: DataChannelResult) => void;
  private reject!: (error: Error) => void;

  constructor(private readonly options: DataChannelOptions) {
    // Like the plugin's gorilla dialer: no extra headers, no compression; the token is the credential.
    this.ws = new WebSocket(options.streamUrl, { perMessageDeflate: false, handshakeTimeout: 30_000 });
    this.handshake = new ClientHandshake({
      label: this.label,
      dataKey: options.kms,
      sendStream: (payloadType, payload) => this.sendStream(payloadType, payload),
      fail: (error) => this.fail(error),
      ...(options.handshakeTimeoutMs === undefined ? {} : { timeoutMs: options.handshakeTimeoutMs }),
    });
  }

  run(): Promise<DataChannelResult> {
    const promise = new Promise<DataChannelResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const ws = this.ws;
    ws.on('open', () => this.onOpen());
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.lastHeardAt = Date.now();
    });
    ws.on('error', (error) => {
      this.socketError = error;
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    const remaining = this.options.deadline - Date.now();
    this.timers.push(setTimeout(() => this.onDeadline(), Math.max(0, remaining)));
    return promise;
  }

  private get label(): string {
    return this.options.sessionId ? `session ${this.options.sessionId}` : 'the ECS Exec session';
  }

  private onOpen(): void {
    this.lastHeardAt = Date.now();
    this.ws.send(openDataChannelMessage(this.options.tokenValue));
    this.timers.push(setInterval(() => this.resendOldest(), RtoDefaults.resendCheckIntervalMs));
    const pingIntervalMs = this.options.pingIntervalMs ?? 15_000;
    const silenceTimeoutMs = this.options.silenceTimeoutMs ?? 45_000;
    this.timers.push(
      setInterval(() => {
        if (this.ws.readyState === WebSocket.OPEN) this.ws.ping('keepalive');
      }, pingIntervalMs),
    );
    this.timers.push(
      setInterval(() => {
        const silentFor = Date.now() - this.lastHeardAt;
        if (silentFor > silenceTimeoutMs) {
          this.fail(new ConnectionLostError(`${this.label} went silent: no frame and no pong for ${silentFor} ms; the container or the connection is gone, check the task and retry`));
        }
      }, Math.max(10, Math.min(pingIntervalMs, silenceTimeoutMs) / 4)),
    );
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.lastHeardAt = Date.now();
    if (this.settled || !isBinary) return;
    let frame: Frame;
    try {
      frame = decodeFrame(toBuffer(data));
    } catch (error) {
      // A corrupt frame is neither processed nor acked: the agent sends it again.
      if (error instanceof FrameError) return;
      throw error;
    }
    switch (frame.messageType) {
      case MessageType.OutputStreamData:
        this.onStreamFrame(frame);
        break;
      case MessageType.Acknowledge:
        this.onAck(frame);
        break;
      case MessageType.ChannelClosed:
        this.onChannelClosed(frame);
        break;
      default:
        // start/pause_publication and anything unknown: nothing to do (the plugin ignores them too).
        break;
    }
  }

  private onStreamFrame(frame: Frame): void {
    const seq = frame.sequenceNumber;
    if (seq < this.expectedSeq) {
      // Our ack was lost or late: ack again so the agent stops resending it.
      this.sendAck(frame);
      return;
    }
    if (seq > this.expectedSeq) {
      if (this.early.size >= REORDER_CAPACITY && !this.early.has(seq)) return;
      this.early.set(seq, frame);
      this.sendAck(frame);
      return;
    }
    this.process(frame);
    this.expectedSeq++;
    for (let next = this.early.get(this.expectedSeq); next && !this.settled; next = this.early.get(this.expectedSeq)) {
      this.early.delete(this.expectedSeq);
      // Early frames were acked when they arrived.
      this.process(next, false);
      this.expectedSeq++;
    }
    if (this.channelClosed && this.early.size === 0) this.finish({ endedBy: 'channel_closed' });
  }

  private process(frame: Frame, ack = true): void {
    switch (frame.payloadType) {
      // Handshake frames are acked before they are processed, as the plugin does.
      case PayloadType.HandshakeRequest:
        if (ack) this.sendAck(frame);
        this.handshake.onRequest(frame.payload);
        return;
      case PayloadType.HandshakeComplete:
        if (ack) this.sendAck(frame);
        this.handshake.onComplete();
        this.sendSizeOnce();
        return;
      case PayloadType.EncChallengeRequest:
        if (ack) this.sendAck(frame);
        this.handshake.onChallenge(frame.payload);
        return;
      case PayloadType.Output: {
        const payload = this.plaintextOf(frame);
        if (payload === undefined) return;
        if (payload.length > 0) this.options.onOutput(payload);
        if (ack) this.sendAck(frame);
        this.sendSizeOnce();
        this.startGraceIfComplete();
        return;
      }
      default:
        if (ack) this.sendAck(frame);
    }
  }

  /** The Output payload in clear; undefined (and the session failed) when an encrypted one does not open. */
  private plaintextOf(frame: Frame): Buffer | undefined {
    const cipher = this.handshake.cipher;
    if (this.handshake.kmsRequested && !cipher) {
      this.fail(new KmsHandshakeError(`${this.label} sent output before the KMS handshake agreed on a key; retry, and report it if it persists`));
      return undefined;
    }
    if (!cipher || !AGENT_ENCRYPTED_TYPES.has(frame.payloadType)) return frame.payload;
    try {
      return cipher.open(frame.payload);
    } catch (error) {
      // Its digest matched, so the bytes are as the agent sent them: the ciphertext itself is wrong.
      this.fail(new KmsPayloadError(`output frame ${frame.sequenceNumber} of ${this.label} failed AES-GCM authentication: the payload was altered or the agent encrypts with another key; the output cannot be trusted, run the command again`, { cause: error }));
      return undefined;
    }
  }

  private startGraceIfComplete(): void {
    if (this.graceStarted || !this.options.isComplete?.()) return;
    this.graceStarted = true;
    // The command's shell has exited and everything needed arrived. channel_closed normally follows within a
    // second or two; if it never comes (a dead container, or a background job still holding the pty), the
    // result is already known, so waiting for the deadline would only turn a success into a failure.
    this.timers.push(setTimeout(() => this.finish({ endedBy: 'completed' }), this.options.completionGraceMs ?? DEFAULT_COMPLETION_GRACE_MS));
  }

  private sendSizeOnce(): void {
    const size = this.options.terminalSize === undefined ? DEFAULT_TERMINAL_SIZE : this.options.terminalSize;
    // While a handshake runs the agent acks and drops other input: Size waits for HandshakeComplete.
    if (this.sizeSent || size === null || this.handshake.pending) return;
    this.sizeSent = true;
    this.sendStream(PayloadType.Size, Buffer.from(JSON.stringify({ cols: size.cols, rows: size.rows })));
  }

  private onAck(frame: Frame): void {
    let seq: bigint;
    try {
      seq = BigInt(parseAck(frame).AcknowledgedMessageSequenceNumber);
    } catch {
      return;
    }
    const entry = this.unacked.get(seq);
    if (!entry) return;
    this.unacked.delete(seq);
    this.rto.update(Date.now() - entry.lastSentAt);
  }

  private onChannelClosed(frame: Frame): void {
    let output = '';
    try {
      const content = JSON.parse(frame.payload.toString('utf8')) as { Output?: unknown };
      if (typeof content.Output === 'string') output = content.Output;
    } catch {
      // A channel_closed without a readable payload still ends the session.
    }
    this.options.onChannelClosed?.();
    if (this.handshake.pending) {
      this.fail(this.handshake.closedDuringHandshake(output));
      return;
    }
    if (output.trim() !== '') {
      this.fail(new ChannelClosedError(`${this.label} was closed by the service with an error: ${output.trim()}`, output));
      return;
    }
    this.channelClosed = true;
    if (this.early.size === 0) {
      this.finish({ endedBy: 'channel_closed' });
      return;
    }
    this.timers.push(
      setTimeout(() => {
        const missing = this.expectedSeq;
        this.fail(new ConnectionLostError(`${this.label} closed while output frame ${missing} was still missing; the output is incomplete, run the command again`));
      }, CLOSE_GAP_GRACE_MS),
    );
  }

  private onClose(code: number, reason: string): void {
    if (this.settled) return;
    // The exit marker is the last thing the command prints; if it is here, all the output we need arrived,
    // and a socket that closes before (or instead of) channel_closed loses nothing (aws-cli#7488: it can happen).
    if (this.options.isComplete?.()) {
      this.finish({ endedBy: 'socket_closed' });
      return;
    }
    const why = this.socketError ? `: ${this.socketError.message}` : ` (code ${code}${reason ? `, ${reason}` : ''})`;
    this.fail(new ConnectionLostError(`the WebSocket of ${this.label} closed before the command finished${why}; check the network path to ssmmessages and retry`, { cause: this.socketError }));
  }

  private onDeadline(): void {
    if (this.settled) return;
    // Ctrl-C through the pty: SIGINT to the command's foreground process group, best effort (during a
    // handshake nothing runs yet, and the agent would drop it).
    if (this.ws.readyState === WebSocket.OPEN && !this.handshake.pending) {
      try {
        this.sendStream(PayloadType.Output, Buffer.from('\x03'));
      } catch {
        // The socket is going away anyway.
      }
    }
    this.fail(new ExecDeadlineError(`${this.label} did not finish before its deadline; raise timeoutMs or make the command detach (setsid nohup … &)`));
  }

  private resendOldest(): void {
    if (this.settled || this.ws.readyState !== WebSocket.OPEN) return;
    // Only the oldest unacked frame is checked, as in the agent and the plugin.
    const oldest = this.unacked.values().next();
    if (oldest.done) return;
    const now = Date.now();
    if (now - oldest.value.lastSentAt > this.rto.rtoMs) {
      oldest.value.lastSentAt = now;
      this.ws.send(oldest.value.bytes);
    }
  }

  private sendStream(payloadType: number, payload: Buffer): void {
    const seq = this.nextSeq++;
    const cipher = this.handshake.cipher;
    const sent = cipher && CLIENT_ENCRYPTED_TYPES.has(payloadType) ? cipher.seal(payload) : payload;
    const bytes = encodeFrame(streamFrame(MessageType.InputStreamData, seq, payloadType, sent, Flags.None));
    this.unacked.set(seq, { bytes, lastSentAt: Date.now() });
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  private sendAck(frame: Frame): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeFrame(ackFrame(frame)));
  }

  private finish(result: DataChannelResult): void {
    if (this.settled) return;
    this.settle();
    this.resolve(result);
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settle();
    this.reject(error);
  }

  private settle(): void {
    this.settled = true;
    this.handshake.dispose();
    for (const timer of this.timers) clearTimeout(timer);
    if (this.ws.readyState === WebSocket.OPEN) {
      // A normal close after queued frames (acks, Ctrl-C) are flushed; terminate if the peer never answers.
      this.ws.close(1000);
      setTimeout(() => this.ws.terminate(), 2000).unref();
    } else if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
    }
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
