import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDataChannel, type DataChannelOptions, type DataChannelResult } from '../../functions/shared/exec/data-channel.js';
import {
  ChannelClosedError,
  ConnectionLostError,
  ExecDeadlineError,
  KmsHandshakeError,
  KmsHandshakeTimeoutError,
  KmsPayloadError,
} from '../../functions/shared/exec/errors.js';
import { encodeFrame, MessageType, PayloadType, type Frame } from '../../functions/shared/exec/frame.js';
import { handshakeRequestPayload } from '../../functions/shared/exec/kms-handshake.js';
import { SessionCipher } from '../../functions/shared/exec/session-cipher.js';
import { serveKmsHandshake, startFakeAgentPeer, type FakeAgentPeer, type FakeAgentPeerOptions, type PeerConnection } from '../helpers/fake-agent-peer.js';

const TOKEN = 'token-123';

interface Session {
  peer: FakeAgentPeer;
  connection: PeerConnection;
  result: Promise<DataChannelResult>;
  output: () => string;
}

let peers: FakeAgentPeer[] = [];

beforeEach(() => {
  peers = [];
});

afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

async function startSession(peerOptions: FakeAgentPeerOptions = {}, options: Partial<DataChannelOptions> = {}): Promise<Session> {
  const peer = await startFakeAgentPeer({ token: TOKEN, ...peerOptions });
  peers.push(peer);
  const chunks: Buffer[] = [];
  const result = runDataChannel({
    streamUrl: peer.url,
    tokenValue: TOKEN,
    onOutput: (chunk) => chunks.push(chunk),
    deadline: Date.now() + 20_000,
    ...options,
  });
  result.catch(() => undefined);
  const connection = await peer.nextConnection();
  await connection.opened();
  return { peer, connection, result, output: () => Buffer.concat(chunks).toString('utf8') };
}

function sizeFrames(connection: PeerConnection): Frame[] {
  return connection.inputFrames().filter((f) => f.payloadType === PayloadType.Size);
}

describe('data channel', () => {
  it('opens with the OpenDataChannel text frame carrying all five fields', async () => {
    const { connection } = await startSession();
    expect(connection.openMessage).toMatchObject({ MessageSchemaVersion: '1.0', TokenValue: TOKEN, ClientVersion: '1.2.0.0' });
    expect(Object.keys(connection.openMessage ?? {})).toEqual(['MessageSchemaVersion', 'RequestId', 'TokenValue', 'ClientId', 'ClientVersion']);
  });

  it('delivers output in order, acks every frame and ends on channel_closed', async () => {
    const { connection, result, output } = await startSession();
    connection.sendPublication('start');
    const first = connection.sendOutput('hello ');
    const second = connection.sendOutput('world\r\n');
    await connection.waitForAck(first.sequenceNumber);
    await connection.waitForAck(second.sequenceNumber);
    connection.sendChannelClosed();
    await expect(result).resolves.toEqual({ endedBy: 'channel_closed' });
    expect(output()).toBe('hello world\r\n');
    const ack = connection.received.find((r) => r.frame.messageType === MessageType.Acknowledge)?.frame;
    expect(JSON.parse(ack?.payload.toString() ?? '{}')).toEqual({
      AcknowledgedMessageType: 'output_stream_data',
      AcknowledgedMessageId: first.messageId,
      AcknowledgedMessageSequenceNumber: 0,
      IsSequentialMessage: true,
    });
  });

  it('buffers early frames, acks them at once, and delivers them after the gap fills', async () => {
    const { connection, result, output } = await startSession();
    const frames = ['a', 'b', 'c', 'd'].map((p) => connection.output(p));
    for (const i of [2, 3, 1]) connection.send(frames[i] as Frame);
    await connection.waitForAck(3n);
    await connection.waitForAck(1n);
    expect(output()).toBe('');
    connection.send(frames[0] as Frame);
    await connection.waitForAck(0n);
    connection.sendChannelClosed();
    await result;
    expect(output()).toBe('abcd');
  });

  it('neither acks nor delivers a frame whose digest is wrong, and takes its retransmission', async () => {
    const { connection, result, output } = await startSession();
    const first = connection.output('intact ');
    const second = connection.output('next');
    const corrupt = encodeFrame(first);
    corrupt.writeUInt8((corrupt.at(-1) ?? 0) ^ 0xff, corrupt.length - 1);
    connection.ws.send(corrupt);
    connection.send(second);
    // Frames are handled in order: once the second is acked, the corrupt one has been looked at.
    await connection.waitForAck(1n);
    expect(connection.ackCounts.has(0n)).toBe(false);
    expect(output()).toBe('');
    connection.send(first);
    await connection.waitForAck(0n);
    connection.sendChannelClosed();
    await result;
    expect(output()).toBe('intact next');
  });

  it('drops duplicates and acks them again', async () => {
    const { connection, result, output } = await startSession();
    const frame = connection.sendOutput('once');
    await connection.waitForAck(0n);
    connection.send(frame);
    connection.send(frame);
    await connection.waitForAck(0n, 3);
    connection.sendChannelClosed();
    await result;
    expect(output()).toBe('once');
  });

  it('sends Size once after the first output and retransmits it until the agent acks', async () => {
    let ptyStarted = false;
    const { connection, result } = await startSession({ ackInput: (f) => f.payloadType !== PayloadType.Size || ptyStarted });
    connection.sendOutput('starting');
    await connection.waitUntil(() => sizeFrames(connection).length >= 3, 'three transmissions of Size');
    ptyStarted = true;
    await connection.waitUntil(() => sizeFrames(connection).length >= 4, 'a fourth transmission of Size');
    const countAfterAck = sizeFrames(connection).length;
    connection.sendOutput('more');
    await connection.waitForAck(1n);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    connection.sendChannelClosed();
    await result;
    const sizes = sizeFrames(connection);
    expect(sizes.length).toBe(countAfterAck);
    expect(new Set(sizes.map((f) => f.messageId)).size).toBe(1);
    expect(sizes.every((f) => f.sequenceNumber === 0n)).toBe(true);
    expect(JSON.parse(sizes[0]?.payload.toString() ?? '')).toEqual({ cols: 1000, rows: 100 });
  });

  it('answers a handshake without KMS, acking the request first, then sends Size after HandshakeComplete', async () => {
    const { connection, result } = await startSession();
    connection.sendOutput(JSON.stringify({ AgentVersion: '3.3.0', RequestedClientActions: [{ ActionType: 'SessionType', ActionParameters: { SessionType: 'InteractiveCommands', Properties: null } }] }), PayloadType.HandshakeRequest);
    await connection.waitUntil(() => connection.inputFrames().some((f) => f.payloadType === PayloadType.HandshakeResponse), 'a HandshakeResponse');
    const ackIndex = connection.received.findIndex((r) => r.frame.messageType === MessageType.Acknowledge);
    const responseIndex = connection.received.findIndex((r) => r.frame.payloadType === PayloadType.HandshakeResponse);
    expect(ackIndex).toBeGreaterThanOrEqual(0);
    expect(ackIndex).toBeLessThan(responseIndex);
    const response = JSON.parse(connection.received[responseIndex]?.frame.payload.toString() ?? '');
    expect(response).toEqual({ ClientVersion: '1.2.0.0', ProcessedClientActions: [{ ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' }], Errors: null });
    expect(sizeFrames(connection)).toHaveLength(0);
    connection.sendOutput(JSON.stringify({ HandshakeTimeToComplete: 1000, CustomerMessage: '' }), PayloadType.HandshakeComplete);
    await connection.waitUntil(() => sizeFrames(connection).length === 1, 'Size after HandshakeComplete');
    connection.sendOutput('ok');
    await connection.waitForAck(2n);
    connection.sendChannelClosed();
    await expect(result).resolves.toEqual({ endedBy: 'channel_closed' });
  });

  it('fails with ChannelClosedError when channel_closed carries an error Output', async () => {
    const { connection, result } = await startSession();
    connection.sendChannelClosed('Plugin with name InteractiveCommands not found. Step name: InteractiveCommands');
    await expect(result).rejects.toThrow(ChannelClosedError);
    await expect(result).rejects.toThrow(/InteractiveCommands not found/);
  });

  it('ignores pause_publication and start_publication', async () => {
    const { connection, result, output } = await startSession();
    connection.sendPublication('pause');
    connection.sendOutput('x');
    connection.sendPublication('start');
    connection.sendOutput('y');
    await connection.waitForAck(1n);
    connection.sendChannelClosed();
    await result;
    expect(output()).toBe('xy');
  });

  it.each([
    ['the peer stops answering pings', { autoPong: false }],
  ])('fails with ConnectionLostError when %s', async (_name, peerOptions) => {
    const { result } = await startSession(peerOptions, { pingIntervalMs: 100, silenceTimeoutMs: 600 });
    await expect(result).rejects.toThrow(ConnectionLostError);
    await expect(result).rejects.toThrow(/went silent/);
  });

  it('keeps a quiet session alive while the peer answers pings', async () => {
    // quiet for longer than the silence timeout, which is still far above a loaded CI machine's event-loop stalls
    const { connection, result, output } = await startSession({}, { pingIntervalMs: 50, silenceTimeoutMs: 2_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    connection.sendOutput('late');
    await connection.waitForAck(0n);
    connection.sendChannelClosed();
    await result;
    expect(output()).toBe('late');
  });

  it('fails with ConnectionLostError when the socket closes before completion', async () => {
    const { connection, result } = await startSession();
    connection.sendOutput('partial');
    await connection.waitForAck(0n);
    connection.ws.close();
    await expect(result).rejects.toThrow(ConnectionLostError);
  });

  it('succeeds when the socket closes without channel_closed after completion', async () => {
    const { connection, result } = await startSession({}, { isComplete: () => true });
    connection.sendOutput('done');
    await connection.waitForAck(0n);
    connection.ws.close();
    await expect(result).resolves.toEqual({ endedBy: 'socket_closed' });
  });

  it('ends once complete when channel_closed never comes', async () => {
    let complete = false;
    const { connection, result } = await startSession({}, { isComplete: () => complete, completionGraceMs: 300 });
    connection.sendOutput('still working');
    await connection.waitForAck(0n);
    complete = true;
    connection.sendOutput('exit marker');
    await expect(result).resolves.toEqual({ endedBy: 'completed' });
    await connection.closed;
  });

  it('sends Ctrl-C and fails with ExecDeadlineError when the deadline passes', async () => {
    const { connection, result } = await startSession({}, { deadline: Date.now() + 800 });
    connection.sendOutput('working');
    await expect(result).rejects.toThrow(ExecDeadlineError);
    await connection.waitUntil(() => connection.inputFrames().some((f) => f.payloadType === PayloadType.Output && f.payload.toString() === '\x03'), 'Ctrl-C');
    await connection.closed;
  });

  it('fails with ConnectionLostError when nothing listens at the stream URL', async () => {
    const result = runDataChannel({ streamUrl: 'ws://127.0.0.1:1/v1/data-channel/x', tokenValue: TOKEN, onOutput: () => undefined, deadline: Date.now() + 5000 });
    await expect(result).rejects.toThrow(ConnectionLostError);
  });
});

describe('data channel, KMS-encrypted session', () => {
  const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/exec';
  const dataKey = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  const kms: DataChannelOptions['kms'] = async () => ({ plaintext: dataKey, ciphertextBlob: Buffer.from('blob') });

  it('answers the handshake and the challenge, sends Size only after HandshakeComplete, and decrypts the output', async () => {
    const { connection, result, output } = await startSession({}, { kms });
    const { cipher } = await serveKmsHandshake(connection, KEY, dataKey);
    await connection.waitUntil(() => sizeFrames(connection).length === 1, 'Size after HandshakeComplete');
    // Size goes after every handshake answer, and in clear.
    const inputs = connection.inputFrames().map((f) => f.payloadType);
    expect(inputs).toEqual([PayloadType.HandshakeResponse, PayloadType.EncChallengeResponse, PayloadType.Size]);
    expect(JSON.parse(sizeFrames(connection)[0]!.payload.toString())).toEqual({ cols: 1000, rows: 100 });
    const frame = connection.sendOutput(cipher.seal(Buffer.from('sécret\r\n')));
    await connection.waitForAck(frame.sequenceNumber);
    connection.sendChannelClosed();
    await expect(result).resolves.toEqual({ endedBy: 'channel_closed' });
    expect(output()).toBe('sécret\r\n');
  });

  it('seals its Ctrl-C on the deadline with the client half of the key', async () => {
    const { connection, result } = await startSession({}, { kms, deadline: Date.now() + 3000 });
    const { cipher } = await serveKmsHandshake(connection, KEY, dataKey);
    await expect(result).rejects.toThrow(ExecDeadlineError);
    await connection.waitUntil(() => connection.inputFrames().some((f) => f.payloadType === PayloadType.Output), 'Ctrl-C');
    const ctrlC = connection.inputFrames().find((f) => f.payloadType === PayloadType.Output);
    expect(ctrlC!.payload).not.toEqual(Buffer.from('\x03'));
    expect(cipher.open(ctrlC!.payload)).toEqual(Buffer.from('\x03'));
  });

  it('fails with KmsPayloadError when an output frame does not authenticate, and does not deliver it', async () => {
    const { connection, result, output } = await startSession({}, { kms });
    const { cipher } = await serveKmsHandshake(connection, KEY, dataKey);
    const sealed = cipher.seal(Buffer.from('tampered'));
    sealed[14]! ^= 0x80;
    connection.sendOutput(sealed);
    await expect(result).rejects.toThrow(KmsPayloadError);
    expect(output()).toBe('');
  });

  it('fails with KmsHandshakeError when the agent seals its challenge with other key halves', async () => {
    const { connection, result } = await startSession({}, { kms });
    connection.sendOutput(handshakeRequestPayload('3.3.0.0', { keyId: KEY }), PayloadType.HandshakeRequest);
    await connection.waitUntil(() => connection.inputFrames().length === 1, 'the HandshakeResponse');
    const swapped = new SessionCipher(Buffer.concat([dataKey.subarray(32), dataKey.subarray(0, 32)]), 'agent');
    connection.sendOutput(JSON.stringify({ Challenge: swapped.seal(Buffer.alloc(64, 1)).toString('base64') }), PayloadType.EncChallengeRequest);
    await expect(result).rejects.toThrow(KmsHandshakeError);
    await expect(result).rejects.toThrow(/hold different keys/);
    expect(connection.inputFrames().some((f) => f.payloadType === PayloadType.EncChallengeResponse)).toBe(false);
  });

  it('gives up with KmsHandshakeTimeoutError when the data key takes longer than the agent waits, aborting the KMS call', async () => {
    let aborted = false;
    const stuck: DataChannelOptions['kms'] = (_request, signal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted')))));
    const { connection, result } = await startSession({}, { kms: stuck, handshakeTimeoutMs: 300 });
    connection.sendOutput(handshakeRequestPayload('3.3.0.0', { keyId: KEY }), PayloadType.HandshakeRequest);
    await expect(result).rejects.toThrow(KmsHandshakeTimeoutError);
    expect(aborted).toBe(true);
    expect(connection.inputFrames()).toEqual([]);
  });

  it.each([
    ['Handshake timed out. Please ensure that you have the latest version of the session manager plugin.', KmsHandshakeTimeoutError, /stopped waiting/],
    ['Encountered error while initiating handshake. Encryption challenge does not match!', KmsHandshakeError, /Encryption challenge does not match/],
    ['Encountered error while initiating handshake. Fetching data key failed: Unable to retrieve data key', KmsHandshakeError, /kms:Decrypt .* to the task role/],
  ])('maps the agent closing the session during the handshake with "%s" to a typed error', async (text, type, message) => {
    const { connection, result } = await startSession({}, { kms });
    connection.sendOutput(handshakeRequestPayload('3.3.0.0', { keyId: KEY }), PayloadType.HandshakeRequest);
    await connection.waitUntil(() => connection.inputFrames().length === 1, 'the HandshakeResponse');
    connection.sendChannelClosed(text);
    await expect(result).rejects.toThrow(type);
    await expect(result).rejects.toThrow(message);
  });

  it('fails with KmsHandshakeError when output arrives before the key is agreed', async () => {
    const { connection, result } = await startSession({}, { kms: () => new Promise(() => undefined) });
    connection.sendOutput(handshakeRequestPayload('3.3.0.0', { keyId: KEY }), PayloadType.HandshakeRequest);
    connection.sendOutput('plain text');
    await expect(result).rejects.toThrow(KmsHandshakeError);
  });
});
