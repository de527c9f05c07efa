import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BackupError } from '../errors.js';
import { PayloadType } from './frame.js';

/**
 * The AES-256-GCM cipher of a KMS-encrypted session (specs/ssm-data-channel.md §1.8): the 64-byte data key
 * is split in halves; the agent encrypts with the first and the client with the second, each decrypts with
 * the other's. A sealed payload is a random 12-byte nonce, the ciphertext and the 16-byte tag; no AAD.
 * Shared by the client and the agent stand-in.
 */

/** Bytes of the data key the client asks KMS for (kms:GenerateDataKey NumberOfBytes). */
export const DATA_KEY_BYTES = 64;
/** GCM nonce length, prepended to every sealed payload. */
export const NONCE_BYTES = 12;
/** GCM tag length, appended by Go's Seal. */
const TAG_BYTES = 16;

/** Payload types the agent encrypts (agent → client); everything else travels in clear. */
export const AGENT_ENCRYPTED_TYPES: ReadonlySet<number> = new Set([PayloadType.Output, PayloadType.StdErr, PayloadType.ExitCode]);
/** Payload types the client encrypts (client → agent): only Output; Size and handshake frames never. */
export const CLIENT_ENCRYPTED_TYPES: ReadonlySet<number> = new Set([PayloadType.Output]);

/** Which end of the session holds the cipher: it decides which half encrypts. */
export type CipherSide = 'client' | 'agent';

/** A sealed payload that does not open: wrong key, altered bytes, or too short to hold a nonce and a tag. */
export class SealedPayloadError extends BackupError {}

/** Encrypts what one side sends and decrypts what it receives. */
export class SessionCipher {
  private readonly encryptKey: Buffer;
  private readonly decryptKey: Buffer;

  /** `dataKey` is the 64-byte plaintext of kms:GenerateDataKey (client) or kms:Decrypt (agent). */
  constructor(dataKey: Uint8Array, side: CipherSide) {
    if (dataKey.length !== DATA_KEY_BYTES) throw new RangeError(`the session data key must be ${DATA_KEY_BYTES} bytes, not ${dataKey.length}`);
    const agentHalf = Buffer.from(dataKey.subarray(0, DATA_KEY_BYTES / 2));
    const clientHalf = Buffer.from(dataKey.subarray(DATA_KEY_BYTES / 2));
    this.encryptKey = side === 'agent' ? agentHalf : clientHalf;
    this.decryptKey = side === 'agent' ? clientHalf : agentHalf;
  }

  /** nonce ‖ ciphertext ‖ tag, with a fresh random nonce. */
  seal(plaintext: Uint8Array): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptKey, nonce);
    return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /** The plaintext of a sealed payload; throws SealedPayloadError when it does not authenticate. */
  open(sealed: Uint8Array): Buffer {
    if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new SealedPayloadError(`a sealed payload of ${sealed.length} bytes is shorter than its nonce and tag`);
    const bytes = Buffer.from(sealed);
    const decipher = createDecipheriv('aes-256-gcm', this.decryptKey, bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealedPayloadError('the payload failed AES-GCM authentication');
    }
  }
}
