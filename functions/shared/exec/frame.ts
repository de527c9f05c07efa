import { createHash, randomUUID } from 'node:crypto';
import { BackupError } from '../errors.js';

/**
 * Binary frames of the SSM Session Manager data channel (specs/ssm-data-channel.md §1.2-1.7):
 * a 120-byte big-endian header then the payload. Shared by the ECS Exec client and the local agent stand-in.
 */

/** HeaderLength field value: the offset of PayloadLength; the payload starts 4 bytes later. */
export const HEADER_LENGTH = 116;
/** Bytes before the payload. */
export const PAYLOAD_OFFSET = HEADER_LENGTH + 4;

/** Message types (the 32-byte, space-padded ASCII field). */
export const MessageType = {
  InputStreamData: 'input_stream_data',
  OutputStreamData: 'output_stream_data',
  Acknowledge: 'acknowledge',
  ChannelClosed: 'channel_closed',
  StartPublication: 'start_publication',
  PausePublication: 'pause_publication',
  AgentSessionState: 'agent_session_state',
} as const;

/** Payload types of stream frames (§1.6); acks carry 0. */
export const PayloadType = {
  None: 0,
  Output: 1,
  Error: 2,
  Size: 3,
  Parameter: 4,
  HandshakeRequest: 5,
  HandshakeResponse: 6,
  HandshakeComplete: 7,
  EncChallengeRequest: 8,
  EncChallengeResponse: 9,
  Flag: 10,
  StdErr: 11,
  ExitCode: 12,
} as const;

/** Flag bits: SYN on a side's first stream frame; acks and control frames use SYN|FIN. */
export const Flags = { None: 0n, Syn: 1n, Fin: 2n, SynFin: 3n } as const;

/** One decoded (or to-be-encoded) frame. */
export interface Frame {
  messageType: string;
  schemaVersion: number;
  createdDate: number;
  sequenceNumber: bigint;
  flags: bigint;
  /** Logical UUID, lowercase and hyphenated (the wire swaps its halves). */
  messageId: string;
  payloadType: number;
  payload: Buffer;
}

/** A frame whose bytes break the layout or whose digest does not match. */
export class FrameError extends BackupError {}

/** Content of an `acknowledge` payload (field order matters: it is compared byte for byte in tests). */
export interface AcknowledgeContent {
  AcknowledgedMessageType: string;
  AcknowledgedMessageId: string;
  AcknowledgedMessageSequenceNumber: number;
  IsSequentialMessage: boolean;
}

function uuidToWire(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new FrameError(`message id ${JSON.stringify(uuid)} is not a UUID`);
  const bytes = Buffer.from(hex, 'hex');
  return Buffer.concat([bytes.subarray(8, 16), bytes.subarray(0, 8)]);
}

function uuidFromWire(wire: Buffer): string {
  const hex = Buffer.concat([wire.subarray(8, 16), wire.subarray(0, 8)]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Serializes a frame; an empty payload cannot go on the wire (the Go serializer fails on it too). */
export function encodeFrame(frame: Frame): Buffer {
  if (frame.payload.length === 0) throw new FrameError(`refusing to encode an empty ${frame.messageType} payload`);
  if (frame.messageType.length > 32) throw new FrameError(`message type ${frame.messageType} is longer than 32 bytes`);
  const out = Buffer.alloc(PAYLOAD_OFFSET + frame.payload.length);
  out.writeUInt32BE(HEADER_LENGTH, 0);
  out.write(frame.messageType.padEnd(32, ' '), 4, 32, 'ascii');
  out.writeUInt32BE(frame.schemaVersion, 36);
  out.writeBigUInt64BE(BigInt(frame.createdDate), 40);
  out.writeBigInt64BE(frame.sequenceNumber, 48);
  out.writeBigUInt64BE(frame.flags, 56);
  uuidToWire(frame.messageId).copy(out, 64);
  createHash('sha256').update(frame.payload).digest().copy(out, 80);
  out.writeUInt32BE(frame.payloadType, 112);
  out.writeUInt32BE(frame.payload.length, 116);
  frame.payload.copy(out, PAYLOAD_OFFSET);
  return out;
}

/**
 * Parses a frame. The payload is everything after the header (PayloadLength is not trusted, as in the plugin);
 * the digest is checked except on start/pause_publication, whose digests the service gets wrong.
 */
export function decodeFrame(bytes: Buffer): Frame {
  if (bytes.length < PAYLOAD_OFFSET) throw new FrameError(`frame of ${bytes.length} bytes is shorter than its ${PAYLOAD_OFFSET}-byte header`);
  const headerLength = bytes.readUInt32BE(0);
  if (headerLength !== HEADER_LENGTH) throw new FrameError(`frame header length is ${headerLength}, expected ${HEADER_LENGTH}`);
  const messageType = bytes.toString('ascii', 4, 36).replace(/\0/g, '').trim();
  const payload = bytes.subarray(PAYLOAD_OFFSET);
  const digest = bytes.subarray(80, 112);
  const unchecked = messageType === MessageType.StartPublication || messageType === MessageType.PausePublication;
  if (!unchecked && payload.length > 0 && !createHash('sha256').update(payload).digest().equals(digest)) {
    throw new FrameError(`payload digest mismatch on ${messageType} frame`);
  }
  return {
    messageType,
    schemaVersion: bytes.readUInt32BE(36),
    createdDate: Number(bytes.readBigUInt64BE(40)),
    sequenceNumber: bytes.readBigInt64BE(48),
    flags: bytes.readBigUInt64BE(56),
    messageId: uuidFromWire(bytes.subarray(64, 80)),
    payloadType: bytes.readUInt32BE(112),
    payload: Buffer.from(payload),
  };
}

/** A stream frame (`input_stream_data` or `output_stream_data`) with a fresh id. */
export function streamFrame(
  messageType: typeof MessageType.InputStreamData | typeof MessageType.OutputStreamData,
  sequenceNumber: bigint,
  payloadType: number,
  payload: Buffer,
  flags: bigint = Flags.None,
  now: number = Date.now(),
): Frame {
  return { messageType, schemaVersion: 1, createdDate: now, sequenceNumber, flags, messageId: randomUUID(), payloadType, payload };
}

/** The `acknowledge` frame for a received stream frame (seq 0, flags 3, payload type 0). */
export function ackFrame(acked: Frame, now: number = Date.now(), messageId: string = randomUUID()): Frame {
  const content: AcknowledgeContent = {
    AcknowledgedMessageType: acked.messageType,
    AcknowledgedMessageId: acked.messageId,
    AcknowledgedMessageSequenceNumber: Number(acked.sequenceNumber),
    IsSequentialMessage: true,
  };
  return {
    messageType: MessageType.Acknowledge,
    schemaVersion: 1,
    createdDate: now,
    sequenceNumber: 0n,
    flags: Flags.SynFin,
    messageId,
    payloadType: PayloadType.None,
    payload: Buffer.from(JSON.stringify(content)),
  };
}

/** Reads an `acknowledge` payload. */
export function parseAck(frame: Frame): AcknowledgeContent {
  try {
    const content = JSON.parse(frame.payload.toString('utf8')) as AcknowledgeContent;
    if (typeof content.AcknowledgedMessageSequenceNumber !== 'number') throw new Error('no sequence number');
    return content;
  } catch (error) {
    throw new FrameError(`malformed acknowledge payload: ${(error as Error).message}`, { cause: error });
  }
}

/** The text frame a client sends first (§1.1): all five fields, in struct order. */
export function openDataChannelMessage(tokenValue: string, clientId: string = randomUUID(), requestId: string = randomUUID()): string {
  return JSON.stringify({
    MessageSchemaVersion: '1.0',
    RequestId: requestId,
    TokenValue: tokenValue,
    ClientId: clientId,
    ClientVersion: '1.2.0.0',
  });
}
