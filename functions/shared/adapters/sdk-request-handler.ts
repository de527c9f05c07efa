/**
 * The orchestrator's SDK request timeouts. Without them the SDK waits forever on a connection that went silent, and
 * one stuck request would hold every target of the invocation until Lambda kills it; a timed-out request is retried
 * by the SDK.
 */
export const SDK_REQUEST_HANDLER = { connectionTimeout: 10_000, socketTimeout: 120_000 } as const;
