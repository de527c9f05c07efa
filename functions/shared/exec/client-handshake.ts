import { errorMessage } from '../errors.js';
import { KmsHandshakeError, KmsHandshakeTimeoutError, KmsSessionError } from './errors.js';
import { PayloadType } from './frame.js';
import {
  ActionStatus,
  answerChallenge,
  handshakeResponsePayload,
  parseHandshakeRequest,
  type HandshakeRequest,
  type KmsActionResult,
  type ProcessedAction,
} from './kms-handshake.js';
import { SealedPayloadError, SessionCipher } from './session-cipher.js';

/**
 * The client's side of the data channel handshake (specs/ssm-data-channel.md §1.8): answers SessionType,
 * gets the session data key for KMSEncryption, answers the encryption challenge, and holds the session
 * cipher once HandshakeComplete arrives. The agent waits 15 s for each answer; so does this side.
 */

/** The agent's wait for the HandshakeResponse and again for the challenge answer (datachannel.go handshakeTimeout). */
export const AGENT_HANDSHAKE_TIMEOUT_MS = 15_000;

/** What KMS gave for the session: the 64-byte plaintext (kept here) and the CiphertextBlob (sent to the agent). */
export interface SessionDataKey {
  plaintext: Uint8Array;
  ciphertextBlob: Uint8Array;
}

/**
 * Makes the session data key with kms:GenerateDataKey on `keyId`; the caller knows the session and the
 * target for the encryption context, and adds aws:ssm:RandomChallenge when `challenge` is given. Rejects
 * with a KmsSessionError subclass that says what to fix.
 */
export type DataKeySource = (request: { keyId: string; challenge?: string }, signal: AbortSignal) => Promise<SessionDataKey>;

/** How the handshake talks to its session. */
export interface ClientHandshakeHooks {
  /** For messages: "session ecs-execute-command-…". */
  label: string;
  dataKey: DataKeySource | undefined;
  /** Sends a sequenced input frame. */
  sendStream(payloadType: number, payload: Buffer): void;
  fail(error: Error): void;
  /** How long the agent gets for the whole handshake from its request on (default 15 s). */
  timeoutMs?: number;
}

/** One session's handshake state. */
export class ClientHandshake {
  /** Set once the data key is known (KMS sessions only). */
  cipher: SessionCipher | undefined;
  private requested = false;
  private completed = false;
  private kms = false;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly hooks: ClientHandshakeHooks) {}

  /** A request arrived and HandshakeComplete did not yet: input other than handshake answers is dropped now. */
  get pending(): boolean {
    return this.requested && !this.completed;
  }

  /** The agent asked for KMS encryption: every Output it sends is sealed. */
  get kmsRequested(): boolean {
    return this.kms;
  }

  /** PayloadType 5: answers it; for KMS after kms:GenerateDataKey. */
  onRequest(payload: Buffer): void {
    if (this.requested) return;
    this.requested = true;
    let request: HandshakeRequest;
    try {
      request = parseHandshakeRequest(payload);
    } catch (error) {
      this.hooks.fail(new KmsHandshakeError(`${this.hooks.label} sent a handshake request this client cannot read (${errorMessage(error)}); retry, and report it if it persists`, undefined, { cause: error }));
      return;
    }
    const timeoutMs = this.hooks.timeoutMs ?? AGENT_HANDSHAKE_TIMEOUT_MS;
    this.timer = setTimeout(() => {
      this.abort.abort();
      this.hooks.fail(
        new KmsHandshakeTimeoutError(
          `${this.hooks.label}: the KMS handshake did not complete within ${timeoutMs} ms, the agent's limit; the command did not run. Check that kms:GenerateDataKey answers quickly from the Lambda's network (NAT or a kms interface endpoint) and retry`,
        ),
      );
    }, timeoutMs);
    if (!request.kms) {
      this.hooks.sendStream(PayloadType.HandshakeResponse, handshakeResponsePayload(baseActions(request)));
      return;
    }
    this.kms = true;
    void this.answerKms(request, request.kms);
  }

  /** PayloadType 8: re-seals the agent's challenge with the client's half of the key. */
  onChallenge(payload: Buffer): void {
    if (!this.cipher) {
      this.hooks.fail(new KmsHandshakeError(`${this.hooks.label} sent an encryption challenge before a data key was agreed; retry, and report it if it persists`));
      return;
    }
    let answer: Buffer;
    try {
      answer = answerChallenge(this.cipher, payload);
    } catch (error) {
      const why =
        error instanceof SealedPayloadError
          ? 'does not decrypt with the session data key: the agent and this client hold different keys'
          : `cannot be read (${errorMessage(error)})`;
      this.hooks.fail(new KmsHandshakeError(`${this.hooks.label}: the agent's encryption challenge ${why}; the command did not run`, undefined, { cause: error }));
      return;
    }
    this.hooks.sendStream(PayloadType.EncChallengeResponse, answer);
  }

  /** PayloadType 7. */
  onComplete(): void {
    this.completed = true;
    this.clearTimer();
  }

  /** What a channel_closed during the handshake means: the agent gave up on it or refused it. */
  closedDuringHandshake(serviceOutput: string): KmsSessionError {
    const text = serviceOutput.trim();
    if (/timed out/i.test(text)) {
      return new KmsHandshakeTimeoutError(`${this.hooks.label}: the agent stopped waiting for the handshake (${text}); the command did not run. Check that kms:GenerateDataKey answers within 15 s and retry`);
    }
    const hint = /data key|decrypt/i.test(text)
      ? "the agent could not decrypt the session data key: allow kms:Decrypt on the cluster's exec key to the task role"
      : 'retry, and check the exec key and the task role with npm run exec-check';
    return new KmsHandshakeError(`${this.hooks.label} was closed during the KMS handshake${text ? `: ${text}` : ''}; the command did not run. ${hint}`, serviceOutput);
  }

  /** Stops the timer and any KMS call in flight. */
  dispose(): void {
    this.clearTimer();
    this.abort.abort();
  }

  private async answerKms(request: HandshakeRequest, kms: { keyId: string; challenge?: string }): Promise<void> {
    const failed = (error: Error, status: number) => {
      // Like the plugin: say so in the response, so the agent cancels at once instead of after 15 s.
      const kmsAction: ProcessedAction = { ActionType: 'KMSEncryption', ActionStatus: status, ActionResult: null, Error: error.message };
      this.hooks.sendStream(PayloadType.HandshakeResponse, handshakeResponsePayload([...baseActions(request), kmsAction]));
      this.hooks.fail(error);
    };
    if (!this.hooks.dataKey) {
      failed(new KmsHandshakeError(`${this.hooks.label} is KMS-encrypted (key ${kms.keyId}), but this client was given no KMS client`), ActionStatus.Unsupported);
      return;
    }
    let dataKey: SessionDataKey;
    try {
      dataKey = await this.hooks.dataKey(kms, this.abort.signal);
      this.cipher = new SessionCipher(dataKey.plaintext, 'client');
    } catch (error) {
      if (this.abort.signal.aborted) return;
      failed(error instanceof KmsSessionError ? error : new KmsHandshakeError(`${this.hooks.label}: no session data key from KMS key ${kms.keyId}: ${errorMessage(error)}`, undefined, { cause: error }), ActionStatus.Failed);
      return;
    }
    if (this.abort.signal.aborted) return;
    const result: KmsActionResult = {
      KMSCipherTextKey: Buffer.from(dataKey.ciphertextBlob).toString('base64'),
      KMSCipherTextHash: null,
      ...(kms.challenge === undefined ? {} : { ChallengeAcknowledgement: true as const }),
    };
    const kmsAction: ProcessedAction = { ActionType: 'KMSEncryption', ActionStatus: ActionStatus.Success, ActionResult: result, Error: '' };
    this.hooks.sendStream(PayloadType.HandshakeResponse, handshakeResponsePayload([...baseActions(request), kmsAction]));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** SessionType succeeds; actions this client does not know are Unsupported (the agent then cancels). */
function baseActions(request: HandshakeRequest): ProcessedAction[] {
  return [
    ...(request.sessionType === undefined ? [] : [{ ActionType: 'SessionType', ActionStatus: ActionStatus.Success, ActionResult: null, Error: '' }]),
    ...request.unknownActions.map((type) => ({ ActionType: type, ActionStatus: ActionStatus.Unsupported, ActionResult: null, Error: 'not supported by this client' })),
  ];
}
