import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/<name>/invocations`), for running
 * the restore CLI against a local orchestrator: the SDK reaches it through AWS_ENDPOINT_URL_LAMBDA.
 * What runs for an invocation is the caller's `invoke` (e.g. the built bundle in a child process).
 * Answers like Lambda: 200 with the JSON result; a handler error is 200 with `X-Amz-Function-Error:
 * Unhandled` and `{errorType, errorMessage, trace}`; an unknown function is 404 ResourceNotFoundException;
 * invocation type `Event` answers 202 at once, `DryRun` 204.
 */

/** How an invocation ended. */
export type InvokeOutcome = { ok: true; result: unknown } | { ok: false; error: { name: string; message: string } };

/** Runs one invocation of a function. */
export type LambdaInvoker = (functionName: string, event: unknown) => Promise<InvokeOutcome>;

/** One invocation as received. */
export interface ReceivedInvocation {
  functionName: string;
  invocationType: string;
  event: unknown;
}

/** A running Lambda API stand-in. */
export interface LambdaApi {
  /** `http://127.0.0.1:<port>`: the value for AWS_ENDPOINT_URL_LAMBDA. */
  endpoint: string;
  /** Invocations received, in order. */
  invocations: ReceivedInvocation[];
  stop(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function awsError(res: ServerResponse, status: number, type: string, message: string): void {
  json(res, status, { Type: 'User', message }, { 'x-amzn-errortype': type });
}

/** The function name in a path segment: a name, `name:qualifier`, or an ARN. */
export function functionNameOf(segment: string): string {
  const decoded = decodeURIComponent(segment);
  const arn = /^arn:[^:]+:lambda:[^:]+:\d+:function:([^:]+)/.exec(decoded);
  if (arn) return arn[1]!;
  return decoded.split(':')[0]!;
}

/** Starts the stand-in on 127.0.0.1 (a free port unless `port` is given); `functions` are the names it knows. */
export async function startLambdaApi(opts: { invoke: LambdaInvoker; functions: readonly string[]; port?: number }): Promise<LambdaApi> {
  const invocations: ReceivedInvocation[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const match = INVOKE_PATH.exec(path);
      if (req.method !== 'POST' || !match) return awsError(res, 404, 'UnknownOperationException', `the stand-in implements only Invoke, not ${req.method} ${path}`);
      const functionName = functionNameOf(match[1]!);
      const text = await readBody(req);
      if (!opts.functions.includes(functionName)) return awsError(res, 404, 'ResourceNotFoundException', `Function not found: ${functionName}`);
      let event: unknown;
      try {
        event = text === '' ? {} : JSON.parse(text);
      } catch {
        return awsError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
      const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      invocations.push({ functionName, invocationType, event });
      if (invocationType === 'DryRun') {
        res.writeHead(204);
        return res.end();
      }
      const running = opts.invoke(functionName, event);
      if (invocationType === 'Event') {
        running.catch(() => undefined);
        res.writeHead(202, { 'content-length': '0' });
        return res.end();
      }
      const outcome = await running;
      const headers = { 'x-amz-executed-version': '$LATEST' };
      if (outcome.ok) return json(res, 200, outcome.result ?? null, headers);
      return json(res, 200, { errorType: outcome.error.name, errorMessage: outcome.error.message, trace: [] }, { ...headers, 'x-amz-function-error': 'Unhandled' });
    })().catch((error: unknown) => {
      if (!res.headersSent) awsError(res, 500, 'ServiceException', String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
