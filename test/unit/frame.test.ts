import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ackFrame, decodeFrame, encodeFrame, Flags, FrameError, MessageType, PayloadType, streamFrame } from '../../functions/shared/exec/frame.js';

const vectorA =
  '00000074' + Buffer.from('acknowledge'.padEnd(32, ' ')).toString('hex') + '00000001' + '0000018bcfe56800' +
  '0000000000000000' + '0000000000000003' + 'a3de282f478ba6e6812ef34f87bd449e' +
  'e27c5d76907e7769eeb0bb854be46b265df4087b53def781552e1c580d3d8f74' + '00000000' + '000000b0' +
  Buffer.from('{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"dd01e56b-ff48-483e-a508-b5f073f31b16","AcknowledgedMessageSequenceNumber":5,"IsSequentialMessage":true}').toString('hex');
const vectorB =
  '00000074696e7075745f73747265616d5f64617461202020202020202020202020202020000000010000018bcfe56801000000000000000000000000000000008c9d0e1f2a3b4c5d0a1b2c3d4e5f4a7bd53ca1ea7dce87c11432052a8550ed2615cf715ca843c89710ed83325b691cba00000003000000157b22636f6c73223a38302c22726f7773223a32347d';
const vectorC =
  '000000746f75747075745f73747265616d5f646174612020202020202020202020202020000000010000018bcfe56802000000000000000100000000000000008c9d0e1f2a3b4c5d0a1b2c3d4e5f4a7b44723dd4d0e0d46a3c7fa8aca254b61c27b6b5789f96177e82c80700409f1535000000010000000468690d0a';

describe('frame codec', () => {
  it('reproduces test vector (a), an acknowledge, byte for byte', () => {
    const acked = streamFrame(MessageType.OutputStreamData, 5n, PayloadType.Output, Buffer.from('x'));
    acked.messageId = 'dd01e56b-ff48-483e-a508-b5f073f31b16';
    const bytes = encodeFrame(ackFrame(acked, 1700000000000, '812ef34f-87bd-449e-a3de-282f478ba6e6'));
    expect(bytes.length).toBe(296);
    expect(bytes.toString('hex')).toBe(vectorA);
  });

  it.each([
    ['(b) size', vectorB, MessageType.InputStreamData, 0n, Flags.None, PayloadType.Size, '{"cols":80,"rows":24}', 1700000000001, 141],
    ['(c) output', vectorC, MessageType.OutputStreamData, 1n, Flags.None, PayloadType.Output, 'hi\r\n', 1700000000002, 124],
  ])('reproduces test vector %s and decodes every field back', (_name, hex, type, seq, flags, payloadType, payload, created, length) => {
    const frame = { messageType: type, schemaVersion: 1, createdDate: created, sequenceNumber: seq, flags, messageId: '0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d', payloadType, payload: Buffer.from(payload) };
    const bytes = encodeFrame(frame);
    expect(bytes.length).toBe(length);
    expect(bytes.toString('hex')).toBe(hex);
    expect(decodeFrame(Buffer.from(hex, 'hex'))).toEqual(frame);
  });

  it('decodes vector (a) back to the ack fields', () => {
    const frame = decodeFrame(Buffer.from(vectorA, 'hex'));
    expect(frame).toMatchObject({ messageType: 'acknowledge', sequenceNumber: 0n, flags: 3n, payloadType: 0, createdDate: 1700000000000, messageId: '812ef34f-87bd-449e-a3de-282f478ba6e6' });
    expect(JSON.parse(frame.payload.toString()).AcknowledgedMessageSequenceNumber).toBe(5);
  });

  it('round-trips random payloads, sequence numbers and ids', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4096 }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.uuid(), fc.integer({ min: 0, max: 12 }), (payload, seq, id, type) => {
        const frame = { messageType: MessageType.OutputStreamData, schemaVersion: 1, createdDate: 1, sequenceNumber: seq, flags: 0n, messageId: id, payloadType: type, payload: Buffer.from(payload) };
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
      }),
    );
  });

  it('rejects a corrupted payload digest', () => {
    const bytes = Buffer.from(vectorC, 'hex');
    bytes[bytes.length - 1] = 0x41;
    expect(() => decodeFrame(bytes)).toThrow(FrameError);
  });

  it('accepts start_publication with a wrong digest and payload length, as the service sends it', () => {
    const bytes = encodeFrame(streamFrame(MessageType.OutputStreamData, 0n, 0, Buffer.from('{}')));
    bytes.write('start_publication'.padEnd(32, ' '), 4, 32, 'ascii');
    bytes.writeUInt32LE(2, 116);
    expect(decodeFrame(bytes).messageType).toBe('start_publication');
  });

  it('refuses to encode an empty payload and to decode a short frame', () => {
    expect(() => encodeFrame(streamFrame(MessageType.InputStreamData, 0n, 1, Buffer.alloc(0)))).toThrow(/empty/);
    expect(() => decodeFrame(Buffer.alloc(50))).toThrow(/shorter/);
  });
});
