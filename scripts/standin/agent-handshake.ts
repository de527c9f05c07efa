import { randomBytes } from 'node:crypto';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { errorMessage } from '../../functions/shared/errors.js';
import { PayloadType } from '../../functions/shared/exec/frame.js';
import {
  ActionStatus,
  challengePayload,
  encryptionContext,
  handshakeCompletePayload,
  handshakeRequestPayload,
  parseChallenge,
  parseHandshakeResponse,
  type KmsActionResult,
} from '../../functions/shared/exec/kms-handshake.js';
import { SessionCipher } from '../../functions/shared/exec/session-cipher.js';

/**
 * The agent's side of the handshake of a KMS-encrypted session (amazon-ssm-agent datachannel.go
 * PerformHandshake): HandshakeRequest with a random challenge, kms:Decrypt of the client's data key through
 * a real KMS API (moto in tests), the encryption challenge, HandshakeComplete. Until it completes nothing runs.
 */

/** The agent version the stand-in reports. */
export const STANDIN_AGENT_VERSION = '3.3.0.0';

/** How the handshake reaches KMS and its session. */
export interface AgentHandshakeOptions {
  kms: KMSClient;
  keyId: string;
  sessionId: string;
  /** `ecs:<cluster>_<taskId>_<runtimeId>` of the container. */
  targetId: string;
  /** The agent's Kms.RequireKMSChallengeResponse (default false): refuse clients that do not acknowledge the challenge. */
  requireChallengeResponse: boolean;
  /** Fault: swap the key halves, so nothing this side seals opens on the client. */
  wrongKeyHalves: boolean;
  /** The agent's wait for each answer (15 s). */
  timeoutMs: number;
  /** Sends a sequenced output frame. */
  send(payloadType: number, payload: Buffer): void;
  /** The handshake completed: the session's cipher. */
  done(cipher: SessionCipher): void;
  /** The handshake failed: the session is cancelled with this text, the command never runs. */
  refuse(reason: string): void;
}

/** One session's handshake, agent side. */
export class AgentHandshake {
  private readonly randomChallenge = randomBytes(16).toString('base64');
  private readonly encryptionChallenge = randomBytes(64);
  private readonly startedAt = process.hrtime.bigint();
  private cipher: SessionCipher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private step: 'response' | 'challenge' | 'over' = 'response';
  private ended = false;

  constructor(private readonly options: AgentHandshakeOptions) {}

  /** Sends the HandshakeRequest and starts waiting for the response. */
  start(): void {
    this.options.send(PayloadType.HandshakeRequest, handshakeRequestPayload(STANDIN_AGENT_VERSION, { keyId: this.options.keyId, challenge: this.randomChallenge }));
    this.wait('Handshake timed out. Please ensure that you have the latest version of the session manager plugin.');
  }

  /** PayloadType 6. */
  async onResponse(payload: Buffer): Promise<void> {
    if (this.step !== 'response') return;
    this.step = 'challenge';
    this.clearTimer();
    let failure: string | undefined;
    try {
      failure = await this.finalize(payload);
    } catch (error) {
      failure = `Unmarshalling of HandshakeResponse message failed, ${errorMessage(error)}`;
    }
    if (this.ended) return; // the session ended while KMS answered
    if (failure !== undefined) {
      this.over(`Encountered error while initiating handshake. ${failure}`);
      return;
    }
    const sealed = this.cipher!.seal(this.encryptionChallenge);
    this.options.send(PayloadType.EncChallengeRequest, challengePayload(sealed));
    this.wait('Timed out waiting for encryption challenge.');
  }

  /** PayloadType 9: the client must have re-sealed the same 64 bytes with its half of the key. */
  onChallengeResponse(payload: Buffer): void {
    if (this.step !== 'challenge' || !this.cipher) return;
    this.clearTimer();
    let answer: Buffer;
    try {
      answer = this.cipher.open(parseChallenge(payload));
    } catch (error) {
      this.over(`Encountered error while initiating handshake. Error decrypting encrypted text, ${errorMessage(error)}`);
      return;
    }
    if (!answer.equals(this.encryptionChallenge)) {
      this.over('Encountered error while initiating handshake. Encryption challenge does not match!');
      return;
    }
    this.step = 'over';
    const nanoseconds = process.hrtime.bigint() - this.startedAt;
    this.options.send(PayloadType.HandshakeComplete, handshakeCompletePayload(nanoseconds, true));
    this.options.done(this.cipher);
  }

  /** Stops waiting (the session ended). */
  dispose(): void {
    this.step = 'over';
    this.ended = true;
    this.clearTimer();
  }

  /** Checks every processed action, decrypts the data key; returns the agent's error text, or undefined. */
  private async finalize(payload: Buffer): Promise<string | undefined> {
    const actions = parseHandshakeResponse(payload);
    const bad = actions.find((a) => a.ActionStatus !== ActionStatus.Success);
    if (bad) return `${bad.ActionType} failed on client with status ${bad.ActionStatus} error: ${bad.Error ?? ''}`;
    const kms = actions.find((a) => a.ActionType === 'KMSEncryption');
    if (!kms) return 'KMSEncryption failed on client: the response has no KMSEncryption action';
    const result = (kms.ActionResult ?? {}) as Partial<KmsActionResult>;
    const acknowledged = result.ChallengeAcknowledgement === true;
    if (this.options.requireChallengeResponse && !acknowledged) return 'KMSEncryption failed: the client did not acknowledge the random challenge';
    const context = encryptionContext(this.options.sessionId, this.options.targetId, acknowledged ? this.randomChallenge : undefined);
    let plaintext: Uint8Array | undefined;
    try {
      const out = await this.options.kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(result.KMSCipherTextKey ?? '', 'base64'), EncryptionContext: context }));
      plaintext = out.Plaintext;
    } catch (error) {
      return `Fetching data key failed: Unable to retrieve data key, Error when decrypting data key ${(error as Error).name}: ${errorMessage(error)}`;
    }
    if (!plaintext || plaintext.length !== 64) return `Fetching data key failed: the data key has ${plaintext?.length ?? 0} bytes, not 64`;
    const key = this.options.wrongKeyHalves ? Buffer.concat([plaintext.subarray(32), plaintext.subarray(0, 32)]) : plaintext;
    this.cipher = new SessionCipher(key, 'agent');
    return undefined;
  }

  private wait(timeoutText: string): void {
    this.timer = setTimeout(() => this.over(timeoutText), this.options.timeoutMs);
    this.timer.unref();
  }

  private over(reason: string): void {
    this.step = 'over';
    this.ended = true;
    this.clearTimer();
    this.options.refuse(reason);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
