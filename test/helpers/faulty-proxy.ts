import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of s3rver that can fail or slow down chosen requests, to play S3 errors and
 * slow links for the orchestrator running in another process.
 */

/** A request as the rule sees it. */
export interface ProxiedRequest {
  method: string;
  /** Path with the query string. */
  url: string;
  query: URLSearchParams;
}

/** What to do with one request: pass it on, answer with an S3 error, or pass it on after a delay. */
export type ProxyVerdict = 'pass' | { status: number; code: string } | { delayMs: number };

/** A running proxy. */
export interface FaultyProxy {
  endpoint: string;
  /** Replaces the rule (default: pass everything). */
  setRule(rule: (req: ProxiedRequest) => ProxyVerdict): void;
  /** Requests seen, in order, with the verdict given. */
  seen: { method: string; url: string; verdict: string }[];
  stop(): Promise<void>;
}

/** Names an S3 request by its method and query: "UploadPart", "CompleteMultipartUpload", "PutObject", ... (enough for tests). */
export function s3Operation(req: ProxiedRequest): string {
  const q = req.query;
  if (req.method === 'PUT' && q.has('partNumber')) return 'UploadPart';
  if (req.method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (req.method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (req.method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (req.method === 'GET' && q.has('uploadId')) return 'ListParts';
  if (req.method === 'PUT') return 'PutObject';
  if (req.method === 'GET' && (q.has('list-type') || q.has('versions'))) return 'ListObjects';
  if (req.method === 'GET') return 'GetObject';
  if (req.method === 'HEAD') return 'HeadObject';
  return `${req.method}`;
}

/** Starts the proxy on 127.0.0.1 forwarding to `upstream` (http://host:port). */
export async function startFaultyProxy(upstream: string): Promise<FaultyProxy> {
  const target = new URL(upstream);
  let rule: (req: ProxiedRequest) => ProxyVerdict = () => 'pass';
  const seen: FaultyProxy['seen'] = [];
  const forward = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const verdict = rule({ method: req.method ?? 'GET', url: req.url ?? '/', query: url.searchParams });
    seen.push({ method: req.method ?? '', url: req.url ?? '', verdict: typeof verdict === 'string' ? verdict : JSON.stringify(verdict) });
    if (verdict === 'pass') return forward(req, res);
    if ('delayMs' in verdict) {
      setTimeout(() => forward(req, res), verdict.delayMs);
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(verdict.status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${verdict.code}</Code><Message>injected by the test proxy</Message></Error>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setRule(r) {
      rule = r;
    },
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
