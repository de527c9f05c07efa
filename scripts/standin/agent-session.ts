import type { KMSClient } from '@aws-sdk/client-kms';
import type { WebSocket } from 'ws';
import {
  Flags,
  MessageType,
  PayloadType,
  ackFrame,
  decodeFrame,
  encodeFrame,
  parseAck,
  streamFrame,
  type Frame,
} from '../../functions/shared/exec/frame.js';
import { errorMessage } from '../../functions/shared/errors.js';
import { AGENT_ENCRYPTED_TYPES, type SessionCipher } from '../../functions/shared/exec/session-cipher.js';
import { AgentHandshake } from './agent-handshake.js';
import type { StandinContainer } from './definition.js';
import { brokenPublicationFrame, channelClosedFrame } from './control-frames.js';
import { FaultySender, type StandinFaults } from './faults.js';
import { startPty, type PtyProcess } from './pty-runner.js';
import { ReliableSender, Retransmission } from './reliable-sender.js';
import { shlexSplit } from './shlex.js';
import { takeFrameChunk } from './utf8-chunks.js';

/** Timings of the emulated agent; the defaults are shortened for tests, REAL_AGENT_TIMINGS are the agent's. */
export interface AgentTimings {
  /** Silence between the pty start and the first read (the agent's writePump sleeps 1 s). */
  initialSilenceMs: number;
  /** How long the agent waits for the last acks before closing (PrepareToCloseChannel: 2 s). */
  finalAckWaitMs: number;
  /** How long a finished session waits for a client that never connected before it is dropped. */
  clientWaitMs: number;
  /** Handshake wait for KMS clusters (15 s). */
  handshakeTimeoutMs: number;
  /** How long a connection may take to send its opening text frame. */
  openTimeoutMs: number;
  /** Pause between output frames; 0 sends as fast as the pty delivers. The agent sleeps 1 ms (≤1000 frames/s). */
  frameIntervalMs: number;
}

/** Defaults used by tests: like the agent, but with 200 ms of initial silence. */
export const DEFAULT_TIMINGS: AgentTimings = {
  initialSilenceMs: 200,
  finalAckWaitMs: 2000,
  clientWaitMs: 60_000,
  handshakeTimeoutMs: 15_000,
  openTimeoutMs: 10_000,
  frameIntervalMs: 0,
};

/** The real agent's timings. */
export const REAL_AGENT_TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, initialSilenceMs: 1000, frameIntervalMs: 1 };

/** With paced frames, stop reading the pty beyond this much unsent output (the writer then blocks, as with the agent). */
const PACED_BUFFER_BYTES = 64 * 1024;

/** A KMS-encrypted session: the cluster's key, the container's target id and the KMS the agent decrypts with. */
export interface AgentKms {
  client: KMSClient;
  keyId: string;
  targetId: string;
  /** The agent's Kms.RequireKMSChallengeResponse. */
  requireChallengeResponse: boolean;
}

/** What one ExecuteCommand session needs. */
export interface AgentSessionOptions {
  sessionId: string;
  token: string;
  command: string;
  container: StandinContainer;
  /** Set when the cluster's executeCommandConfiguration has a kmsKeyId. */
  kms?: AgentKms;
  /** The session is refused (the command never runs): channel_closed carries this text once a client is there. */
  refusal?: string;
  faults: StandinFaults;
  timings: AgentTimings;
  /** Called once when the session is over (closed, dropped or stopped). */
  onFinished: () => void;
}

const CLOSE_POLICY = 1008;

/**
 * The agent side of one ECS Exec data channel: runs the command at once (InteractiveCommands under a pty),
 * buffers its output until a client connects with the token, then streams it with acks and retransmission.
 */
export class AgentSession {
  private pty: PtyProcess | undefined;
  private ptyStartedAt = 0;
  private ptyEnded = false;
  private silenceOver = false;
  private pendingOutput: Buffer = Buffer.alloc(0);
  private nextSeq = 0n;
  private expectedInput = 0n;
  private readonly inputBuffer = new Map<bigint, Frame>();
  private readonly outgoing = new ReliableSender();
  private socket: WebSocket | undefined;
  private sender: FaultySender | undefined;
  private everAttached = false;
  private framesSent = 0;
  private pauseSent = false;
  /** Set when the command cannot run; sent as an error channel_closed once a client is there. */
  private failure: string | undefined;
  private handshakeDone = true;
  private handshake: AgentHandshake | undefined;
  private cipher: SessionCipher | undefined;
  private outputFrames = 0;
  private finished = false;
  private closing = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private resendTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AgentSessionOptions) {
    const { faults, command, container, kms } = options;
    if (options.refusal !== undefined) {
      this.failure = options.refusal;
    } else if (faults.errorChannelClosed !== undefined) {
      this.failure = faults.errorChannelClosed;
    } else if (kms) {
      // With a KMS key the agent handshakes first and runs nothing until the client completes it; its
      // 15 s run from the session's start, client or not (the request waits in the outgoing buffer).
      this.handshakeDone = false;
      this.startHandshake(kms);
    } else {
      this.startCommand(command, container);
    }
    this.later(() => this.giveUpWithoutClient(), options.timings.clientWaitMs);
  }

  /** The session id (ecs-execute-command-…). */
  get sessionId(): string {
    return this.options.sessionId;
  }

  /** Whether the session is still running or streaming. */
  get active(): boolean {
    return !this.finished;
  }

  /** Takes a client WebSocket; the first text frame must carry the session's token. */
  attach(ws: WebSocket): void {
    if (this.finished || this.everAttached) {
      ws.close(CLOSE_POLICY, 'session is not open for a new connection');
      return;
    }
    const openTimer = this.later(() => ws.close(CLOSE_POLICY, 'no OpenDataChannel message'), this.options.timings.openTimeoutMs);
    ws.once('message', (data, isBinary) => {
      clearTimeout(openTimer);
      this.timers.delete(openTimer);
      if (isBinary || !this.tokenMatches(data.toString())) {
        ws.close(CLOSE_POLICY, 'invalid token');
        return;
      }
      this.connected(ws);
    });
  }

  /** Kills the command (direct child only, like the agent) and closes the connection. */
  stop(): void {
    this.closing = true;
    this.pty?.kill();
    this.socket?.terminate();
    this.finish();
  }

  /** ssm:TerminateSession: the agent kills the command (direct child only) and the client gets channel_closed. */
  terminate(): void {
    this.pty?.kill();
    this.close(undefined);
    this.finish();
  }

  private tokenMatches(text: string): boolean {
    try {
      const open = JSON.parse(text) as { TokenValue?: unknown };
      return open.TokenValue === this.options.token;
    } catch {
      return false;
    }
  }

  private startCommand(command: string, container: StandinContainer): void {
    let argv: string[];
    try {
      argv = shlexSplit(command);
      if (argv.length === 0) throw new Error('command is empty');
    } catch (error) {
      this.failure = `Unable to start command: failed to parse ${JSON.stringify(command)}: ${errorMessage(error)}`;
      return;
    }
    try {
      this.pty = startPty({ argv, env: container.env, mounts: container.mounts, shell: container.shell });
    } catch (error) {
      this.failure = `Unable to start command: ${errorMessage(error)}`;
      return;
    }
    this.ptyStartedAt = Date.now();
    this.pty.onData((chunk) => {
      this.pendingOutput = this.pendingOutput.length === 0 ? chunk : Buffer.concat([this.pendingOutput, chunk]);
      this.pump();
    });
    this.pty.onEnd(() => {
      this.ptyEnded = true;
      if (!this.everAttached) this.later(() => this.giveUpWithoutClient(), this.options.timings.clientWaitMs);
      this.pump();
    });
    this.later(() => {
      this.silenceOver = true;
      this.pump();
    }, this.options.timings.initialSilenceMs);
  }

  private connected(ws: WebSocket): void {
    this.socket = ws;
    this.everAttached = true;
    this.sender = new FaultySender(this.options.faults, (bytes) => {
      if (this.socket === ws && ws.readyState === ws.OPEN) ws.send(bytes);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.onClientFrame(data as Buffer);
    });
    ws.on('close', () => this.detached(ws));
    ws.on('error', () => this.detached(ws));
    if (this.options.faults.startPublication) this.sendRaw(brokenPublicationFrame(MessageType.StartPublication));
    for (const [seq, bytes] of this.outgoing.unsent()) this.transmit(seq, bytes);
    this.resendTimer = setInterval(() => this.resend(), Retransmission.resendIntervalMs);
    if (this.failure !== undefined) {
      this.later(() => this.close(this.failure), this.options.timings.initialSilenceMs);
    } else if (this.handshakeDone) {
      this.maybeClose();
    }
  }

  private detached(ws: WebSocket): void {
    if (this.socket !== ws) return;
    this.socket = undefined;
    this.sender?.dispose();
    if (this.resendTimer) clearInterval(this.resendTimer);
    // Nobody can reconnect (one token, one connection): the command keeps running until it ends by itself.
    if (this.failure !== undefined || !this.handshakeDone || this.ptyEnded) this.finish();
  }

  private onClientFrame(bytes: Buffer): void {
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch {
      return; // the agent drops frames it cannot parse
    }
    if (frame.messageType === MessageType.Acknowledge) {
      this.outgoing.ack(BigInt(parseAckSafe(frame)), Date.now());
      this.maybeClose();
    } else if (frame.messageType === MessageType.InputStreamData) {
      this.onInput(frame);
    }
  }

  private onInput(frame: Frame): void {
    const seq = frame.sequenceNumber;
    if (seq < this.expectedInput) {
      this.sendRaw(encodeFrame(ackFrame(frame)));
    } else if (seq > this.expectedInput) {
      this.sendRaw(encodeFrame(ackFrame(frame)));
      this.inputBuffer.set(seq, frame);
    } else if (this.processInput(frame)) {
      this.sendRaw(encodeFrame(ackFrame(frame)));
      this.expectedInput++;
      for (let next = this.inputBuffer.get(this.expectedInput); next; next = this.inputBuffer.get(this.expectedInput)) {
        if (!this.processInput(next)) break;
        this.inputBuffer.delete(this.expectedInput);
        this.expectedInput++;
      }
    }
  }

  /** Applies one input frame; false means "handler not ready": no ack, the client must resend. */
  private processInput(frame: Frame): boolean {
    switch (frame.payloadType) {
      case PayloadType.Size: {
        const slow = this.options.faults.slowPtyStartMs ?? 0;
        // During a handshake (or with no command) input is acked and dropped; a pty not started yet is not ready.
        if (!this.pty) return true;
        if (Date.now() < this.ptyStartedAt + slow) return false;
        try {
          const size = JSON.parse(frame.payload.toString('utf8')) as { cols?: number; rows?: number };
          if (typeof size.cols === 'number' && typeof size.rows === 'number') this.pty.resize(size.cols, size.rows);
        } catch {
          // a malformed size is acked and ignored
        }
        return true;
      }
      case PayloadType.Output: {
        // During the handshake input is dropped; a sealed payload that does not open is dropped too (the agent logs it).
        if (!this.handshakeDone) return true;
        const input = this.plaintextInput(frame.payload);
        if (input) this.pty?.write(input);
        return true;
      }
      case PayloadType.HandshakeResponse:
        void this.handshake?.onResponse(frame.payload);
        return true;
      case PayloadType.EncChallengeResponse:
        this.handshake?.onChallengeResponse(frame.payload);
        return true;
      default:
        return true;
    }
  }

  private plaintextInput(payload: Buffer): Buffer | undefined {
    if (!this.cipher) return payload;
    try {
      return this.cipher.open(payload);
    } catch {
      return undefined;
    }
  }

  private startHandshake(kms: AgentKms): void {
    this.handshake = new AgentHandshake({
      kms: kms.client,
      keyId: kms.keyId,
      sessionId: this.options.sessionId,
      targetId: kms.targetId,
      requireChallengeResponse: kms.requireChallengeResponse,
      wrongKeyHalves: this.options.faults.kmsWrongKeyHalves === true,
      timeoutMs: this.options.timings.handshakeTimeoutMs,
      send: (payloadType, payload) => this.queueFrame(payloadType, payload),
      done: (cipher) => {
        if (this.closing) return;
        this.cipher = cipher;
        this.handshakeDone = true;
        this.startCommand(this.options.command, this.options.container);
      },
      refuse: (reason) => {
        if (!this.closing) this.close(reason);
      },
    });
    this.handshake.start();
  }

  /** Turns buffered pty output into ≤1 KiB frames once the initial silence is over. */
  private pump(): void {
    if (!this.silenceOver || this.closing) return;
    if (this.everAttached && !this.socket) {
      // The client is gone for good: the command's output has nowhere to go.
      this.pendingOutput = Buffer.alloc(0);
      this.maybeClose();
      return;
    }
    const interval = this.options.timings.frameIntervalMs;
    if (interval > 0) {
      if (this.pumpTimer) return;
      const taken = takeFrameChunk(this.pendingOutput, this.ptyEnded);
      if (taken) {
        this.pendingOutput = taken.rest;
        this.queueFrame(PayloadType.Output, taken.chunk);
        this.pumpTimer = this.later(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, interval);
      }
      if (this.pendingOutput.length > PACED_BUFFER_BYTES) this.pty?.pause();
      else this.pty?.resume();
      if (taken) return;
    } else {
      for (;;) {
        const taken = takeFrameChunk(this.pendingOutput, this.ptyEnded);
        if (!taken) break;
        this.pendingOutput = taken.rest;
        this.queueFrame(PayloadType.Output, taken.chunk);
      }
    }
    this.maybeClose();
  }

  private pumpTimer: NodeJS.Timeout | undefined;

  private queueFrame(payloadType: number, payload: Buffer): void {
    const seq = this.nextSeq++;
    const sent = AGENT_ENCRYPTED_TYPES.has(payloadType) ? this.sealOutput(payload) : payload;
    const bytes = encodeFrame(streamFrame(MessageType.OutputStreamData, seq, payloadType, sent, seq === 0n ? Flags.Syn : Flags.None));
    this.outgoing.add(seq, bytes);
    if (this.socket) this.transmit(seq, bytes);
  }

  /** Output is sealed once the handshake agreed a key; the corruptCiphertextFrame fault then flips one ciphertext bit. */
  private sealOutput(payload: Buffer): Buffer {
    const index = this.outputFrames++;
    if (!this.cipher) return payload;
    const sealed = this.cipher.seal(payload);
    // Corrupted before framing: the digest matches, so only AES-GCM can tell.
    if (this.options.faults.corruptCiphertextFrame === index) sealed[sealed.length - 17]! ^= 0x01;
    return sealed;
  }

  private transmit(seq: bigint, bytes: Buffer): void {
    if (!this.socket || !this.sender) return;
    const limit = this.options.faults.dropConnectionAfterFrames;
    if (limit !== undefined && this.framesSent >= limit) return; // the connection is being cut
    this.outgoing.markSent(seq, Date.now());
    this.sender.send(bytes);
    this.framesSent++;
    const { dropConnectionAfterFrames, pausePublication } = this.options.faults;
    if (pausePublication && !this.pauseSent) {
      this.pauseSent = true;
      this.sendRaw(brokenPublicationFrame(MessageType.PausePublication));
      this.sendRaw(brokenPublicationFrame(MessageType.StartPublication));
    }
    if (dropConnectionAfterFrames !== undefined && this.framesSent >= dropConnectionAfterFrames) {
      // Let the frames already handed to ws reach the socket, then cut it without a close handshake.
      const ws = this.socket;
      setImmediate(() => ws.terminate());
    }
  }

  private resend(): void {
    const due = this.outgoing.due(Date.now());
    if (due) this.transmit(due.seq, due.bytes);
  }

  private sendRaw(bytes: Buffer): void {
    const ws = this.socket;
    if (ws && ws.readyState === ws.OPEN) ws.send(bytes);
  }

  private endOfOutput(): boolean {
    return this.ptyEnded && this.silenceOver && this.pendingOutput.length === 0;
  }

  private maybeClose(): void {
    if (this.closing || !this.endOfOutput()) return;
    if (!this.socket) {
      if (this.everAttached) this.finish();
      return;
    }
    if (this.outgoing.size === 0) {
      this.close(undefined);
      return;
    }
    if (!this.finalAckTimer) this.finalAckTimer = this.later(() => this.close(undefined), this.options.timings.finalAckWaitMs);
  }

  private finalAckTimer: NodeJS.Timeout | undefined;

  /** Ends the session: channel_closed (with an error Output when given), then the socket closes. */
  private close(errorOutput: string | undefined): void {
    if (this.closing) return;
    this.closing = true;
    const ws = this.socket;
    if (!ws) {
      this.finish();
      return;
    }
    if (this.options.faults.noChannelClosed && errorOutput === undefined) {
      this.finish(); // the socket stays open and silent; the client's deadline or watchdog must end it
      return;
    }
    const frame = channelClosedFrame(this.options.sessionId, errorOutput);
    this.sendRaw(encodeFrame(frame));
    ws.close(1000, 'channel closed');
    this.finish();
  }

  private giveUpWithoutClient(): void {
    if (!this.everAttached && (this.ptyEnded || this.failure !== undefined || !this.handshakeDone)) this.stop();
  }

  private finish(): void {
    this.handshake?.dispose();
    if (this.resendTimer) clearInterval(this.resendTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.finished) return;
    this.finished = true;
    this.options.onFinished();
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref(); // the server and sockets keep the process alive, session timers need not
    this.timers.add(timer);
    return timer;
  }
}

function parseAckSafe(frame: Frame): number {
  try {
    return parseAck(frame).AcknowledgedMessageSequenceNumber;
  } catch {
    return -1;
  }
}
