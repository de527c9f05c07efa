import { BackupError } from '../errors.js';
import type { SessionCipher } from './session-cipher.js';

/**
 * The JSON messages of the data channel handshake and its KMS encryption (specs/ssm-data-channel.md §1.8),
 * as the agent (amazon-ssm-agent contracts) and the plugin (session-manager-plugin) marshal them. Go encodes
 * []byte as standard base64 and time.Duration as integer nanoseconds. Shared by the client and the stand-in.
 */

/** ActionStatus values of a processed client action. */
export const ActionStatus = { Success: 1, Failed: 2, Unsupported: 3 } as const;

/** The client version the plugin reports (and we with it). */
export const CLIENT_VERSION = '1.2.0.0';
/** HandshakeComplete's CustomerMessage when the session is encrypted. */
export const KMS_CUSTOMER_MESSAGE = 'This session is encrypted using AWS KMS.';

/** Encryption context keys of the session data key (the agent decrypts with the same context). */
export const ContextKey = {
  SessionId: 'aws:ssm:SessionId',
  TargetId: 'aws:ssm:TargetId',
  RandomChallenge: 'aws:ssm:RandomChallenge',
} as const;

/** A handshake message that is not what the protocol says. */
export class HandshakeMessageError extends BackupError {}

/** What the agent asks for in its HandshakeRequest. */
export interface HandshakeRequest {
  agentVersion: string;
  /** SessionType's ActionParameters.SessionType ("InteractiveCommands" for ECS Exec). */
  sessionType?: string;
  /** Present when the session is KMS-encrypted. */
  kms?: { keyId: string; challenge?: string };
  /** Action types this client does not know (answered Unsupported). */
  unknownActions: string[];
}

/** One entry of ProcessedClientActions. */
export interface ProcessedAction {
  ActionType: string;
  ActionStatus: number;
  ActionResult: unknown;
  Error: string;
}

/** The KMSEncryption action's ActionResult. */
export interface KmsActionResult {
  /** Base64 of kms:GenerateDataKey's CiphertextBlob. */
  KMSCipherTextKey: string;
  KMSCipherTextHash: null;
  /** Sent only when the agent sent a Challenge: the encryption context then holds aws:ssm:RandomChallenge. */
  ChallengeAcknowledgement?: true;
}

/** Parses a HandshakeRequest payload (PayloadType 5). */
export function parseHandshakeRequest(payload: Buffer): HandshakeRequest {
  const json = parseJson(payload, 'HandshakeRequest') as { AgentVersion?: unknown; RequestedClientActions?: unknown };
  if (!Array.isArray(json.RequestedClientActions)) throw new HandshakeMessageError('the HandshakeRequest has no RequestedClientActions list');
  const request: HandshakeRequest = { agentVersion: String(json.AgentVersion ?? ''), unknownActions: [] };
  for (const action of json.RequestedClientActions as { ActionType?: unknown; ActionParameters?: Record<string, unknown> | null }[]) {
    const parameters = action.ActionParameters ?? {};
    if (action.ActionType === 'SessionType') {
      request.sessionType = String(parameters.SessionType ?? '');
    } else if (action.ActionType === 'KMSEncryption') {
      if (typeof parameters.KMSKeyId !== 'string' || parameters.KMSKeyId === '') throw new HandshakeMessageError('the KMSEncryption action names no KMSKeyId');
      const challenge = typeof parameters.Challenge === 'string' && parameters.Challenge !== '' ? parameters.Challenge : undefined;
      request.kms = { keyId: parameters.KMSKeyId, ...(challenge ? { challenge } : {}) };
    } else {
      request.unknownActions.push(String(action.ActionType));
    }
  }
  return request;
}

/** The HandshakeRequest payload an agent sends for an InteractiveCommands session. */
export function handshakeRequestPayload(agentVersion: string, kms?: { keyId: string; challenge?: string }): Buffer {
  const actions: unknown[] = [{ ActionType: 'SessionType', ActionParameters: { SessionType: 'InteractiveCommands', Properties: null } }];
  if (kms) actions.push({ ActionType: 'KMSEncryption', ActionParameters: { KMSKeyId: kms.keyId, ...(kms.challenge ? { Challenge: kms.challenge } : {}) } });
  return Buffer.from(JSON.stringify({ AgentVersion: agentVersion, RequestedClientActions: actions }));
}

/** The HandshakeResponse payload (PayloadType 6), fields in the plugin's struct order. */
export function handshakeResponsePayload(actions: ProcessedAction[]): Buffer {
  return Buffer.from(JSON.stringify({ ClientVersion: CLIENT_VERSION, ProcessedClientActions: actions, Errors: null }));
}

/** Parses a HandshakeResponse payload (the agent's side). */
export function parseHandshakeResponse(payload: Buffer): ProcessedAction[] {
  const json = parseJson(payload, 'HandshakeResponse') as { ProcessedClientActions?: unknown };
  if (!Array.isArray(json.ProcessedClientActions)) throw new HandshakeMessageError('the HandshakeResponse has no ProcessedClientActions list');
  return json.ProcessedClientActions as ProcessedAction[];
}

/** The encryption context of the session data key. */
export function encryptionContext(sessionId: string, targetId: string, challenge?: string): Record<string, string> {
  return {
    [ContextKey.SessionId]: sessionId,
    [ContextKey.TargetId]: targetId,
    ...(challenge === undefined ? {} : { [ContextKey.RandomChallenge]: challenge }),
  };
}

/** The SSM target id of an ECS container, built like aws-cli's executecommand.py: `ecs:<cluster>_<taskId>_<runtimeId>`. */
export function ecsTargetId(cluster: string, task: string, runtimeId: string): string {
  return `ecs:${lastSegment(cluster)}_${lastSegment(task)}_${runtimeId}`;
}

/** EncChallengeRequest/Response payload: `{"Challenge":"<base64 of nonce ‖ ciphertext ‖ tag>"}`. */
export function challengePayload(sealed: Uint8Array): Buffer {
  return Buffer.from(JSON.stringify({ Challenge: Buffer.from(sealed).toString('base64') }));
}

/** The sealed bytes of an EncChallengeRequest/Response. */
export function parseChallenge(payload: Buffer): Buffer {
  const json = parseJson(payload, 'encryption challenge') as { Challenge?: unknown };
  if (typeof json.Challenge !== 'string') throw new HandshakeMessageError('the encryption challenge has no Challenge');
  return Buffer.from(json.Challenge, 'base64');
}

/** The client's answer to the agent's challenge: the same plaintext, re-sealed with the client's key. */
export function answerChallenge(cipher: SessionCipher, request: Buffer): Buffer {
  return challengePayload(cipher.seal(cipher.open(parseChallenge(request))));
}

/** HandshakeComplete payload (PayloadType 7). */
export function handshakeCompletePayload(nanoseconds: bigint, encrypted: boolean): Buffer {
  return Buffer.from(`{"HandshakeTimeToComplete":${nanoseconds},"CustomerMessage":${JSON.stringify(encrypted ? KMS_CUSTOMER_MESSAGE : '')}}`);
}

function parseJson(payload: Buffer, what: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new HandshakeMessageError(`the ${what} is not JSON`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new HandshakeMessageError(`the ${what} is not a JSON object`);
  return json as Record<string, unknown>;
}

function lastSegment(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}
