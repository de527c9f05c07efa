import { DescribeTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { errorMessage } from '../errors.js';
import type { SessionDataKey } from './client-handshake.js';
import { errorName, type ExecTarget } from './ecs-errors.js';
import { KmsAccessDeniedError, KmsHandshakeError, KmsKeyDisabledError, KmsSessionError } from './errors.js';
import { ecsTargetId, encryptionContext } from './kms-handshake.js';
import { DATA_KEY_BYTES } from './session-cipher.js';

/**
 * Where a KMS-encrypted session's data key comes from: kms:GenerateDataKey (64 bytes) on the key the agent
 * names, with the session id and the container's SSM target id as encryption context (specs §1.8). The
 * agent decrypts the blob with the same context, so a key made for one session opens no other.
 */

/** The session a data key is made for. */
export interface DataKeySession {
  sessionId: string;
  /** `ecs:<cluster>_<taskId>_<runtimeId>`, resolved once per session. */
  targetId: Promise<string>;
}

/** Asks KMS for the session data key; rejects with a KmsSessionError subclass that names the fix. */
export async function generateSessionDataKey(
  kms: KMSClient,
  session: DataKeySession,
  request: { keyId: string; challenge?: string },
  signal: AbortSignal,
): Promise<SessionDataKey> {
  const targetId = await session.targetId;
  let out;
  try {
    out = await kms.send(
      new GenerateDataKeyCommand({ KeyId: request.keyId, NumberOfBytes: DATA_KEY_BYTES, EncryptionContext: encryptionContext(session.sessionId, targetId, request.challenge) }),
      { abortSignal: signal },
    );
  } catch (error) {
    throw kmsError(error, request.keyId, session.sessionId);
  }
  if (!out.Plaintext || !out.CiphertextBlob || out.Plaintext.length !== DATA_KEY_BYTES) {
    throw new KmsHandshakeError(`kms:GenerateDataKey on ${request.keyId} returned no ${DATA_KEY_BYTES}-byte data key for session ${session.sessionId}; retry, and report it if it persists`);
  }
  return { plaintext: out.Plaintext, ciphertextBlob: out.CiphertextBlob };
}

/** The SSM target id of the container (its runtimeId comes from ecs:DescribeTasks, as in aws-cli). */
export async function sessionTargetId(ecs: ECSClient, target: ExecTarget): Promise<string> {
  const where = `container ${target.container} of task ${target.task}`;
  let response;
  try {
    response = await ecs.send(new DescribeTasksCommand({ cluster: target.cluster, tasks: [target.task] }));
  } catch (error) {
    throw new KmsHandshakeError(`cannot build the KMS encryption context of ${where}: ecs:DescribeTasks failed (${errorMessage(error)}); allow it to the caller`, undefined, { cause: error });
  }
  const task = response.tasks?.[0];
  const runtimeId = task?.containers?.find((c) => c.name === target.container)?.runtimeId;
  if (!task?.taskArn || !runtimeId) {
    throw new KmsHandshakeError(`cannot build the KMS encryption context of ${where}: ecs:DescribeTasks reports no runtimeId for it; check that the task is RUNNING`);
  }
  return ecsTargetId(task.clusterArn ?? target.cluster, task.taskArn, runtimeId);
}

/** Turns a GenerateDataKey failure into the typed error that says what to change. */
function kmsError(error: unknown, keyId: string, sessionId: string): KmsSessionError {
  const name = errorName(error);
  const detail = errorMessage(error);
  const options = { cause: error };
  if (name === 'AccessDeniedException') {
    return new KmsAccessDeniedError(
      `not allowed to kms:GenerateDataKey on ${keyId}, the key that encrypts this cluster's ECS Exec sessions (${detail}); list the key's ARN under execKmsKeys.<cluster> in the config and redeploy, and check that the key policy lets IAM policies of the account grant it`,
      options,
    );
  }
  if (name === 'DisabledException' || name === 'KMSInvalidStateException') {
    return new KmsKeyDisabledError(
      `${keyId}, the key that encrypts this cluster's ECS Exec sessions, cannot make data keys (${detail}): enable it (aws kms enable-key) or cancel its deletion, or set another key in the cluster's executeCommandConfiguration`,
      options,
    );
  }
  if (name === 'NotFoundException') {
    return new KmsHandshakeError(`${keyId}, the key the agent asked to encrypt session ${sessionId} with, does not exist (${detail}); fix kmsKeyId in the cluster's executeCommandConfiguration`, undefined, options);
  }
  return new KmsHandshakeError(`kms:GenerateDataKey on ${keyId} failed for session ${sessionId}: ${detail}; retry, and check the network path to KMS`, undefined, options);
}
