import { BackupError } from '../errors.js';

/** Base class of every ECS Exec failure: running a command in a container did not give a result. */
export class ExecError extends BackupError {}

/** The task was started without ECS Exec enabled. */
export class ExecNotEnabledError extends ExecError {}

/** The container's ExecuteCommandAgent is not RUNNING (yet, or any more). */
export class AgentNotRunningError extends ExecError {}

/** ECS could not reach the agent in the task (TargetNotConnectedException, after retries). */
export class TargetNotConnectedError extends ExecError {}

/** The caller may not run ecs:ExecuteCommand (or a lookup it needs) on this cluster/task/container. */
export class ExecAccessDeniedError extends ExecError {}

/** The cluster, task or container does not exist (or the task has stopped). */
export class TaskNotFoundError extends ExecError {}

/** The service has no RUNNING task whose container can be exec'd into. */
export class NoRunningTaskError extends ExecError {}

/** The command did not finish before the caller's deadline. */
export class ExecDeadlineError extends ExecError {}

/** The session was closed by the service with an error message (`channel_closed` with a non-empty Output). */
export class ChannelClosedError extends ExecError {
  constructor(
    message: string,
    /** The service's own text, verbatim. */
    readonly serviceOutput: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The WebSocket failed, closed early or went silent before the command's exit status arrived. */
export class ConnectionLostError extends ExecError {}

/** Base class of the failures of a KMS-encrypted session (the cluster's executeCommandConfiguration has a kmsKeyId). */
export class KmsSessionError extends ExecError {}

/** The caller may not kms:GenerateDataKey on the cluster's exec key (or KMS refused the key to it). */
export class KmsAccessDeniedError extends KmsSessionError {}

/** The cluster's exec key is disabled or pending deletion: no session data key can be made with it. */
export class KmsKeyDisabledError extends KmsSessionError {}

/** The handshake did not finish within the agent's 15 s (a slow KMS call, or an agent that stopped waiting). */
export class KmsHandshakeTimeoutError extends KmsSessionError {}

/** The handshake failed: the agent refused it (challenge, data key) or its messages do not add up. */
export class KmsHandshakeError extends KmsSessionError {
  constructor(
    message: string,
    /** The agent's own text when the session was closed with one, verbatim. */
    readonly serviceOutput?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An encrypted payload failed AES-GCM authentication: it was altered, or the two sides hold different keys. */
export class KmsPayloadError extends KmsSessionError {}
