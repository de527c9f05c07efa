import { randomUUID } from 'node:crypto';
import { Flags, MessageType, encodeFrame, type Frame } from '../../functions/shared/exec/frame.js';

/** PayloadType the service was seen to put on channel_closed (Gimlet's notes); used for error closes. */
export const CHANNEL_CLOSED_ERROR_PAYLOAD_TYPE = 261;

/** The channel_closed frame (§1.11): empty Output on a normal end, the error text otherwise. */
export function channelClosedFrame(sessionId: string, errorOutput: string | undefined): Frame {
  const content = {
    MessageId: randomUUID(),
    CreatedDate: new Date().toISOString(),
    DestinationId: sessionId,
    SessionId: sessionId,
    MessageType: MessageType.ChannelClosed,
    SchemaVersion: 1,
    Output: errorOutput ?? '',
  };
  return {
    messageType: MessageType.ChannelClosed,
    schemaVersion: 1,
    createdDate: Date.now(),
    sequenceNumber: 0n,
    flags: Flags.SynFin,
    messageId: content.MessageId,
    payloadType: errorOutput === undefined ? 0 : CHANNEL_CLOSED_ERROR_PAYLOAD_TYPE,
    payload: Buffer.from(JSON.stringify(content)),
  };
}

/** start/pause_publication as the service sends them: PayloadLength little-endian and a wrong digest. */
export function brokenPublicationFrame(type: typeof MessageType.StartPublication | typeof MessageType.PausePublication): Buffer {
  const payload = Buffer.from(JSON.stringify({ MessageType: type }));
  const bytes = encodeFrame({ messageType: type, schemaVersion: 1, createdDate: Date.now(), sequenceNumber: 0n, flags: Flags.SynFin, messageId: randomUUID(), payloadType: 0, payload });
  bytes.fill(0xab, 80, 112);
  bytes.writeUInt32LE(payload.length, 116);
  return bytes;
}
