import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of the tests' S3 (moto) that can fail or slow down chosen requests, to play S3 errors and
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
  /** Requests seen, in order, with the verdict given and the region they were signed for (SigV4 credential scope). */
  seen: { method: string; url: string; verdict: string; signedRegion?: string }[];
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
  // No keep-alive to the S3 server: stopping it must not wait for idle proxy connections.
  const upstreamRequest = (req: IncomingMessage, res: ServerResponse) => {
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    out.on('error', () => res.destroy());
    return out;
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const verdict = rule({ method: req.method ?? 'GET', url: req.url ?? '/', query: url.searchParams });
    const signedRegion = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(req.headers.authorization ?? '')?.[1];
    seen.push({ method: req.method ?? '', url: req.url ?? '', verdict: typeof verdict === 'string' ? verdict : JSON.stringify(verdict), ...(signedRegion ? { signedRegion } : {}) });
    if (verdict === 'pass') {
      req.pipe(upstreamRequest(req, res));
      return;
    }
    if ('delayMs' in verdict) {
      // Like S3, a request either arrives whole or not at all: the body is held, and dropped if the client goes away
      // before sending all of it; a whole request is delivered even if its client is gone by then.
      const chunks: Buffer[] = [];
      let complete = false;
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        complete = true;
        setTimeout(() => upstreamRequest(req, res).end(Buffer.concat(chunks)), verdict.delayMs);
      });
      req.on('close', () => {
        if (!complete) chunks.length = 0;
      });
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
