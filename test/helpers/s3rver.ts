import { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * s3rver 3.7.1 in-process on a free loopback port with a temporary directory.
 *
 * s3rver does NOT implement bucket versioning (PUT/GET ?versioning answer NotImplemented), nor
 * ListParts, AbortMultipartUpload, ListObjectVersions, and it accepts parts for unknown upload ids.
 * This helper fills those gaps with a small Koa middleware in front of s3rver's router:
 * - ListParts (GET ?uploadId) and AbortMultipartUpload (DELETE ?uploadId) from s3rver's own upload dir;
 * - NoSuchUpload (404) for UploadPart / Complete / ListParts / Abort on an unknown upload id;
 * - ListObjectVersions (GET ?versions) listing each current object as its only version, VersionId "null".
 * Version ids are therefore never returned, and "no duplicate version" is checked by counting
 * completed uploads instead (see `openUploads()` and the tests' command counters).
 */

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface StoredObject {
  key: string;
  size: number;
  lastModifiedDate: Date;
  metadata: Record<string, string>;
}
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: {
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    listObjects(bucket: string, options: { prefix?: string; maxKeys?: number }): Promise<{ objects: StoredObject[] }>;
  };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverConstructor;

/** A running s3rver with a client for it. */
export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Path-style client with dummy credentials. */
  client: S3Client;
  /** Another client like `client` (for tests that add middleware); the caller destroys it. */
  newClient(): S3Client;
  /** A bucket created at start. */
  bucket: string;
  /** s3rver's storage directory. */
  directory: string;
  /** Ids of multipart uploads started and neither completed nor aborted (of one key if given). */
  openUploads(key?: string): Promise<string[]>;
  /** The directory where s3rver keeps the parts of an upload (files `<n>` and `<n>.md5`). */
  uploadDir(uploadId: string): string;
  /** Sets an object's LastModified (s3rver reports the file's mtime, in whole seconds). */
  setLastModified(key: string, date: Date): Promise<void>;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const escapeXml = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);

function xml(ctx: KoaContext, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

function noSuchUpload(ctx: KoaContext, uploadId: string): void {
  xml(
    ctx,
    404,
    `<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message>` +
      `<UploadId>${escapeXml(uploadId)}</UploadId></Error>`,
  );
}

function gapFiller(server: S3rverInstance): KoaMiddleware {
  const uploadDir = (bucket: string, uploadId: string) =>
    join(server.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const uploadExists = (bucket: string, uploadId: string) =>
    stat(join(uploadDir(bucket, uploadId), 'key')).then(
      () => true,
      () => false,
    );

  return async (ctx, next) => {
    const segments = ctx.path.split('/').slice(1).map(decodeURIComponent);
    const [bucket, ...keyParts] = segments;
    const key = keyParts.join('/');
    const uploadId = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined;
    if (!bucket) return next();

    if (uploadId !== undefined && key) {
      if (!/^[0-9a-f]+$/.test(uploadId) || !(await uploadExists(bucket, uploadId))) return noSuchUpload(ctx, uploadId);
      const dir = uploadDir(bucket, uploadId);
      if (ctx.method === 'DELETE') {
        await rm(dir, { recursive: true, force: true });
        ctx.status = 204;
        ctx.body = '';
        return;
      }
      if (ctx.method === 'GET') {
        const names = (await readdir(dir)).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
        const parts = await Promise.all(
          names.map(async (n) => {
            const [info, md5] = await Promise.all([stat(join(dir, n)), readFile(join(dir, `${n}.md5`), 'utf8')]);
            return (
              `<Part><PartNumber>${n}</PartNumber><LastModified>${info.mtime.toISOString()}</LastModified>` +
              `<ETag>"${md5}"</ETag><Size>${info.size}</Size></Part>`
            );
          }),
        );
        return xml(
          ctx,
          200,
          `<ListPartsResult xmlns="${XMLNS}"><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key>` +
            `<UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`,
        );
      }
      return next();
    }

    if (!key && ctx.method === 'GET' && 'versions' in ctx.query) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const { objects } = await server.store.listObjects(bucket, { prefix });
      const versions = objects.map(
        (o) =>
          `<Version><Key>${escapeXml(o.key)}</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>` +
          `<LastModified>${o.lastModifiedDate.toISOString()}</LastModified>` +
          `<ETag>"${String(o.metadata.etag ?? '').replace(/"/g, '')}"</ETag><Size>${o.size}</Size>` +
          `<StorageClass>STANDARD</StorageClass></Version>`,
      );
      return xml(
        ctx,
        200,
        `<ListVersionsResult xmlns="${XMLNS}"><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix>` +
          `<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys>` +
          `<IsTruncated>false</IsTruncated>${versions.join('')}</ListVersionsResult>`,
      );
    }
    return next();
  };
}

/** Starts s3rver on 127.0.0.1 with a fresh temp directory and one bucket (default "backups"); the client uses the SDK's default checksums unless told. */
export async function startS3rver(
  options: {
    bucket?: string;
    /** "when-required" is needed for PutObject with a stream body (s3rver stores aws-chunked framing otherwise). */
    checksums?: 'sdk-default' | 'when-required';
  } = {},
): Promise<S3rverHandle> {
  const bucket = options.bucket ?? 'backups';
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  // Must run before s3rver's router; Koa composes `middleware` when the server starts listening.
  server.middleware.unshift(gapFiller(server));
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const newClient = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      ...(options.checksums === 'when-required' ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
      maxAttempts: 3,
    });
  const client = newClient();
  return {
    endpoint,
    client,
    newClient,
    bucket,
    directory,
    async openUploads(key) {
      const dir = server.store.getResourcePath(bucket, undefined, 'uploads');
      const ids = await readdir(dir).catch(() => [] as string[]);
      if (key === undefined) return ids;
      const keys = await Promise.all(ids.map((id) => readFile(join(dir, id, 'key'), 'utf8').catch(() => null)));
      return ids.filter((_, i) => keys[i] === key);
    },
    async setLastModified(key, date) {
      await utimes(server.store.getResourcePath(bucket, key, 'object'), date, date);
    },
    uploadDir(uploadId) {
      return join(server.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
