import { CopyObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * S3 bucket versioning in front of s3rver (which has none), for restore tests: every PutObject and
 * CompleteMultipartUpload gets a version id (`x-amz-version-id`), the bytes of each version are kept
 * as a hidden object `__versions__/<key>/<id>`, GET/HEAD `?versionId=` read them, and
 * ListObjectVersions lists them, newest first, the newest `IsLatest`. Everything else passes through.
 */

/** Prefix of the hidden objects holding the versions' bytes. */
export const VERSIONS_PREFIX = '__versions__/';

/** One stored version. */
export interface StoredVersion {
  versionId: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** A running versioning proxy. */
export interface VersioningProxy {
  endpoint: string;
  /** The versions of a key, oldest first. */
  versions(key: string): StoredVersion[];
  stop(): Promise<void>;
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Starts the proxy on 127.0.0.1 in front of `upstream` (an s3rver endpoint, or a proxy in front of one). */
export async function startVersioningProxy(upstream: string): Promise<VersioningProxy> {
  const target = new URL(upstream);
  const client = new S3Client({
    endpoint: upstream,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const store = new Map<string, StoredVersion[]>();

  const send = (req: IncomingMessage, path: string, body: Buffer | null): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path, headers: req.headers }, (res) => {
        readBody(res).then((b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }), reject);
      });
      out.on('error', reject);
      if (body === null) req.pipe(out);
      else out.end(body);
    });

  const reply = (res: ServerResponse, status: number, headers: IncomingMessage['headers'], body: Buffer | string, versionId?: string) => {
    const h: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && k !== 'transfer-encoding') h[k] = v;
    if (versionId) h['x-amz-version-id'] = versionId;
    // HEAD answers keep the object's length; other answers are sent whole.
    if (h['content-length'] === undefined || Buffer.byteLength(body) > 0) h['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(status, h);
    res.end(body);
  };

  const recordVersion = async (bucket: string, key: string): Promise<string> => {
    const versionId = randomBytes(12).toString('hex');
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: `${VERSIONS_PREFIX}${key}/${versionId}`, CopySource: `${bucket}/${encodeKey(key)}` }));
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const list = store.get(key) ?? [];
    list.push({ versionId, size: head.ContentLength ?? 0, etag: head.ETag ?? '""', lastModified: new Date() });
    store.set(key, list);
    return versionId;
  };

  const listVersions = async (bucket: string, prefix: string): Promise<string> => {
    const entries: string[] = [];
    const known = new Set<string>();
    for (const [key, list] of [...store.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!key.startsWith(prefix)) continue;
      known.add(key);
      [...list].reverse().forEach((v, i) => {
        entries.push(
          `<Version><Key>${escapeXml(key)}</Key><VersionId>${v.versionId}</VersionId><IsLatest>${i === 0}</IsLatest>` +
            `<LastModified>${v.lastModified.toISOString()}</LastModified><ETag>${escapeXml(v.etag)}</ETag><Size>${v.size}</Size>` +
            `<StorageClass>STANDARD</StorageClass></Version>`,
        );
      });
    }
    // Objects written around the proxy have one version, "null".
    const current = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    for (const o of current.Contents ?? []) {
      if (!o.Key || known.has(o.Key) || o.Key.startsWith(VERSIONS_PREFIX)) continue;
      entries.push(
        `<Version><Key>${escapeXml(o.Key)}</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>` +
          `<LastModified>${(o.LastModified ?? new Date(0)).toISOString()}</LastModified><ETag>${escapeXml(o.ETag ?? '""')}</ETag>` +
          `<Size>${o.Size ?? 0}</Size><StorageClass>STANDARD</StorageClass></Version>`,
      );
    }
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>` +
      `<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${entries.join('')}</ListVersionsResult>`
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [bucket = '', ...rest] = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const key = rest.join('/');
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (bucket && !key && method === 'GET' && q.has('versions')) {
      return reply(res, 200, { 'content-type': 'application/xml' }, await listVersions(bucket, q.get('prefix') ?? ''));
    }
    if (!key) return reply(res, ...(await passThrough()));
    const isPut = method === 'PUT' && !q.has('partNumber') && !q.has('uploadId') && req.headers['x-amz-copy-source'] === undefined;
    const isComplete = method === 'POST' && q.has('uploadId');
    if (isPut || isComplete) {
      const up = await send(req, req.url ?? '/', null);
      const failed = up.status !== 200 || (isComplete && up.body.includes('<Error>'));
      return reply(res, up.status, up.headers, up.body, failed ? undefined : await recordVersion(bucket, key));
    }
    if ((method === 'GET' || method === 'HEAD') && !q.has('uploadId')) {
      const asked = q.get('versionId');
      const list = store.get(key) ?? [];
      if (asked !== null && asked !== 'null') {
        const version = list.find((v) => v.versionId === asked);
        if (!version) {
          const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchVersion</Code><Message>The specified version does not exist.</Message></Error>`;
          return reply(res, 404, { 'content-type': 'application/xml' }, method === 'HEAD' ? '' : body);
        }
        q.delete('versionId');
        const path = `/${encodeURIComponent(bucket)}/${encodeKey(`${VERSIONS_PREFIX}${key}/${asked}`)}${q.size ? `?${q}` : ''}`;
        const up = await send(req, path, Buffer.alloc(0));
        return reply(res, up.status, up.headers, method === 'HEAD' ? '' : up.body, asked);
      }
      const up = await send(req, req.url ?? '/', Buffer.alloc(0));
      return reply(res, up.status, up.headers, method === 'HEAD' ? '' : up.body, up.status < 300 ? list.at(-1)?.versionId : undefined);
    }
    return reply(res, ...(await passThrough()));

    async function passThrough(): Promise<[number, IncomingMessage['headers'], Buffer]> {
      const up = await send(req, req.url ?? '/', null);
      return [up.status, up.headers, method === 'HEAD' ? Buffer.alloc(0) : up.body];
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/xml' });
      res.end(`<Error><Code>InternalError</Code><Message>${escapeXml(String(error))}</Message></Error>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    versions: (key) => [...(store.get(key) ?? [])],
    stop: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
