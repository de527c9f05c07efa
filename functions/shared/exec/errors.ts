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

/** The cluster encrypts ECS Exec sessions with a KMS key; this client does not speak the KMS handshake. */
export class KmsSessionNotSupportedError extends ExecError {}

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
