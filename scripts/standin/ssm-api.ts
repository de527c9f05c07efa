import { EcsApiError } from './ecs-api.js';

/** X-Amz-Target prefix of the SSM JSON 1.1 API. */
export const SSM_TARGET_PREFIX = 'AmazonSSM.';

/**
 * The one SSM operation the client calls: TerminateSession ends a session for good. Like SSM it answers
 * with the session id even for a session that is already over (TerminateSession documents no not-found error).
 */
export class SsmApi {
  constructor(private readonly terminate: (sessionId: string) => void) {}

  /** Runs one operation; throws EcsApiError (same wire shape) for service errors. */
  call(operation: string, input: Record<string, unknown>): Record<string, unknown> {
    if (operation !== 'TerminateSession') throw new EcsApiError('UnknownOperationException', `The stand-in does not implement SSM ${operation}.`);
    const sessionId = input.SessionId;
    if (typeof sessionId !== 'string' || sessionId.length < 1 || sessionId.length > 96) {
      throw new EcsApiError('ValidationException', '1 validation error detected: Value at \'sessionId\' failed to satisfy constraint: Member must have length between 1 and 96');
    }
    this.terminate(sessionId);
    return { SessionId: sessionId };
  }
}
