import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NONCE_BYTES, SealedPayloadError, SessionCipher } from '../../functions/shared/exec/session-cipher.js';

const dataKey = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff));

/** AES-256-GCM open written out with node:crypto alone: nonce first, tag last, no AAD. */
function openWith(key: Buffer, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

describe('SessionCipher', () => {
  const agent = new SessionCipher(dataKey, 'agent');
  const client = new SessionCipher(dataKey, 'client');

  it('lets each side open what the other sealed', () => {
    expect(client.open(agent.seal(Buffer.from('from the agent ✓')))).toEqual(Buffer.from('from the agent ✓'));
    expect(agent.open(client.seal(Buffer.from('from the client')))).toEqual(Buffer.from('from the client'));
  });

  it('seals with the first half on the agent side and the second on the client side: nonce, ciphertext, tag, no AAD', () => {
    const fromAgent = agent.seal(Buffer.from('hi\r\n'));
    const fromClient = client.seal(Buffer.from('hi\r\n'));
    expect(fromAgent.length).toBe(NONCE_BYTES + 4 + 16);
    expect(openWith(dataKey.subarray(0, 32), fromAgent)).toEqual(Buffer.from('hi\r\n'));
    expect(openWith(dataKey.subarray(32), fromClient)).toEqual(Buffer.from('hi\r\n'));
  });

  it('uses a fresh random nonce for every payload', () => {
    const nonces = new Set(Array.from({ length: 50 }, () => agent.seal(Buffer.from('same')).subarray(0, NONCE_BYTES).toString('hex')));
    expect(nonces.size).toBe(50);
  });

  it('does not open its own payloads (the halves differ)', () => {
    expect(() => client.open(client.seal(Buffer.from('x')))).toThrow(SealedPayloadError);
  });

  it.each([
    ['a flipped ciphertext bit', (b: Buffer) => (b[NONCE_BYTES]! ^= 1)],
    ['a flipped nonce bit', (b: Buffer) => (b[0]! ^= 1)],
    ['a flipped tag bit', (b: Buffer) => (b[b.length - 1]! ^= 1)],
  ])('refuses %s', (_name, tamper) => {
    const sealed = agent.seal(Buffer.from('payload'));
    tamper(sealed);
    expect(() => client.open(sealed)).toThrow(SealedPayloadError);
  });

  it('refuses a payload too short for a nonce and a tag, and a data key that is not 64 bytes', () => {
    expect(() => client.open(Buffer.alloc(27))).toThrow(/shorter than its nonce and tag/);
    expect(() => new SessionCipher(Buffer.alloc(32), 'client')).toThrow(/must be 64 bytes, not 32/);
  });
});
