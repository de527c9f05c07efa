import { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * s3rver 3.7.1 in-process on a free loopback port with a temporary directory.
 *
 * s3rver does NOT implement bucket versioning (PUT/GET ?versioning answer NotImplemented), nor
 * ListParts, AbortMultipartUpload, ListObjectVersions, and it accepts parts for unknown upload ids.
 * This helper fills those gaps with two Koa middlewares in front of s3rver's router:
 * - ListParts (GET ?uploadId) and AbortMultipartUpload (DELETE ?uploadId) from s3rver's own upload dir,
 *   and NoSuchUpload (404) for UploadPart / Complete / ListParts / Abort on an unknown upload id;
 * - versioning (on unless `versioning: false`, as the real bucket is versioned): every PutObject,
 *   CopyObject and CompleteMultipartUpload gets an `x-amz-version-id`, the replaced object is kept,
 *   GET/HEAD `?versionId=` (with Range) serve any kept version, DELETE adds a delete marker,
 *   DELETE `?versionId=` removes one version, ListObjectVersions lists them all. Not emulated:
 *   DeleteObjects (POST ?delete) with version ids, pagination of ListObjectVersions.
 */

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
  length: number;
  get(name: string): string;
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
    existsObject(bucket: string, key: string): Promise<boolean>;
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
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

    return next();
  };
}

/** One version of a key, newest first in its list; `archive` holds the bytes once it is not current. */
interface VersionEntry {
  versionId: string;
  deleteMarker: boolean;
  lastModified: Date;
  size: number;
  etag: string;
  archive: string | null;
}

/** s3rver's three files of an object: content, its md5, its metadata. */
const OBJECT_FILES = ['object', 'object.md5', 'metadata.json'] as const;

function versioning(server: S3rverInstance, archiveRoot: string): KoaMiddleware {
  const versions = new Map<string, VersionEntry[]>();
  const store = server.store;
  const newVersionId = () => randomUUID().replace(/-/g, '');

  /** Moves the current object's files aside and freezes its listing fields (LastModified as the store last had it). */
  async function archive(bucket: string, key: string, entry: VersionEntry): Promise<string> {
    const meta = await store.getMetadata(bucket, key);
    Object.assign(entry, { lastModified: new Date(meta['last-modified'] ?? 0), size: Number(meta['content-length']), etag: meta.etag ?? '' });
    const dir = join(archiveRoot, randomUUID());
    await mkdir(dir, { recursive: true });
    for (const f of OBJECT_FILES) {
      await copyFile(store.getResourcePath(bucket, key, f), join(dir, f)).catch(() => undefined);
    }
    return dir;
  }
  async function restore(bucket: string, key: string, dir: string): Promise<void> {
    await mkdir(dirname(store.getResourcePath(bucket, key, 'object')), { recursive: true });
    for (const f of OBJECT_FILES) await copyFile(join(dir, f), store.getResourcePath(bucket, key, f)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  /** The version list of a key; an object written before versioning shows as version "null". */
  async function listOf(bucket: string, key: string): Promise<VersionEntry[]> {
    const id = `${bucket}/${key}`;
    let list = versions.get(id);
    if (!list) {
      list = [];
      if (await store.existsObject(bucket, key)) {
        const meta = await store.getMetadata(bucket, key);
        list.push({ versionId: 'null', deleteMarker: false, lastModified: new Date(meta['last-modified'] ?? 0), size: Number(meta['content-length']), etag: meta.etag ?? '', archive: null });
      }
      versions.set(id, list);
    }
    return list;
  }
  const currentOf = (list: VersionEntry[]) => (list[0] && !list[0].deleteMarker ? list[0] : undefined);

  async function serveArchived(ctx: KoaContext, entry: VersionEntry): Promise<void> {
    const dir = entry.archive!;
    const file = join(dir, 'object');
    const size = (await stat(file)).size;
    const meta = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8').catch(() => '{}')) as Record<string, string>;
    for (const [name, value] of Object.entries(meta)) if (name.startsWith('x-amz-meta-') || name.startsWith('content-')) ctx.set(name, value);
    ctx.set('ETag', `"${(await readFile(join(dir, 'object.md5'), 'utf8')).trim()}"`);
    ctx.set('Last-Modified', entry.lastModified.toUTCString());
    ctx.set('x-amz-version-id', entry.versionId);
    ctx.set('Accept-Ranges', 'bytes');
    const range = /^bytes=(\d+)-(\d*)$/.exec(ctx.get('range'));
    let start = 0;
    let end = size - 1;
    if (range) {
      start = Number(range[1]);
      end = Math.min(range[2] ? Number(range[2]) : size - 1, size - 1);
      if (start >= size) {
        return xml(ctx, 416, `<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message></Error>`);
      }
      ctx.status = 206;
      ctx.set('Content-Range', `bytes ${start}-${end}/${size}`);
    } else {
      ctx.status = 200;
    }
    ctx.length = Math.max(0, end - start + 1);
    if (ctx.method !== 'HEAD') ctx.body = size === 0 ? '' : createReadStream(file, { start, end });
  }

  async function listVersions(ctx: KoaContext, bucket: string): Promise<void> {
    const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
    const { objects } = await store.listObjects(bucket, { prefix });
    for (const o of objects) await listOf(bucket, o.key);
    const keys = [...versions.keys()]
      .filter((id) => id.startsWith(`${bucket}/${prefix}`))
      .map((id) => id.slice(bucket.length + 1))
      .sort();
    const current = new Map(objects.map((o) => [o.key, o]));
    const items: string[] = [];
    for (const key of keys) {
      versions.get(`${bucket}/${key}`)!.forEach((v, i) => {
        const latest = i === 0;
        // The current version reports the store's LastModified (so tests can set it), others their own.
        const stored = latest && !v.deleteMarker ? current.get(key) : undefined;
        const modified = (stored?.lastModifiedDate ?? v.lastModified).toISOString();
        const head = `<Key>${escapeXml(key)}</Key><VersionId>${v.versionId}</VersionId><IsLatest>${latest}</IsLatest><LastModified>${modified}</LastModified>`;
        items.push(
          v.deleteMarker
            ? `<DeleteMarker>${head}</DeleteMarker>`
            : `<Version>${head}<ETag>"${v.etag.replace(/"/g, '')}"</ETag><Size>${stored?.size ?? v.size}</Size><StorageClass>STANDARD</StorageClass></Version>`,
        );
      });
    }
    return xml(
      ctx,
      200,
      `<ListVersionsResult xmlns="${XMLNS}"><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix>` +
        `<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys>` +
        `<IsTruncated>false</IsTruncated>${items.join('')}</ListVersionsResult>`,
    );
  }

  return async (ctx, next) => {
    const [bucket, ...keyParts] = ctx.path.split('/').slice(1).map(decodeURIComponent);
    const key = keyParts.join('/');
    if (!bucket) return next();
    if (!key) return ctx.method === 'GET' && 'versions' in ctx.query ? listVersions(ctx, bucket) : next();
    const q = ctx.query;
    const versionId = typeof q.versionId === 'string' ? q.versionId : undefined;
    const isWrite =
      (ctx.method === 'PUT' && !['uploadId', 'partNumber', 'acl', 'tagging', 'legal-hold', 'retention'].some((m) => m in q)) ||
      (ctx.method === 'POST' && typeof q.uploadId === 'string');

    if (isWrite) {
      const list = await listOf(bucket, key);
      const previous = currentOf(list);
      const archived = previous ? await archive(bucket, key, previous) : null;
      await next();
      if (ctx.status >= 300) {
        if (archived) await rm(archived, { recursive: true, force: true });
        return;
      }
      if (previous) previous.archive = archived;
      const meta = await store.getMetadata(bucket, key);
      const entry: VersionEntry = { versionId: newVersionId(), deleteMarker: false, lastModified: new Date(), size: Number(meta['content-length']), etag: meta.etag ?? '', archive: null };
      list.unshift(entry);
      ctx.set('x-amz-version-id', entry.versionId);
      return;
    }

    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      if (Object.keys(q).some((m) => ['acl', 'tagging', 'uploadId', 'legal-hold', 'retention', 'torrent'].includes(m))) return next();
      const list = await listOf(bucket, key);
      const current = currentOf(list);
      if (versionId === undefined || versionId === current?.versionId) {
        await next();
        if (current && ctx.status < 300) ctx.set('x-amz-version-id', current.versionId);
        return;
      }
      const entry = list.find((v) => v.versionId === versionId);
      if (!entry) return xml(ctx, 404, `<Error><Code>NoSuchVersion</Code><Message>The specified version does not exist.</Message><Key>${escapeXml(key)}</Key><VersionId>${escapeXml(versionId)}</VersionId></Error>`);
      if (entry.deleteMarker) return xml(ctx, 405, `<Error><Code>MethodNotAllowed</Code><Message>The specified method is not allowed against this resource.</Message></Error>`);
      return serveArchived(ctx, entry);
    }

    if (ctx.method === 'DELETE' && !Object.keys(q).some((m) => ['tagging', 'uploadId'].includes(m))) {
      const list = await listOf(bucket, key);
      if (versionId === undefined) {
        const previous = currentOf(list);
        if (previous) previous.archive = await archive(bucket, key, previous);
        await next();
        const marker: VersionEntry = { versionId: newVersionId(), deleteMarker: true, lastModified: new Date(), size: 0, etag: '', archive: null };
        list.unshift(marker);
        ctx.set('x-amz-delete-marker', 'true');
        ctx.set('x-amz-version-id', marker.versionId);
        return;
      }
      const index = list.findIndex((v) => v.versionId === versionId);
      if (index >= 0) {
        const [entry] = list.splice(index, 1);
        if (index === 0 && !entry!.deleteMarker) await next();
        if (entry!.archive) await rm(entry!.archive, { recursive: true, force: true });
        const promoted = index === 0 ? currentOf(list) : undefined;
        if (promoted?.archive) {
          await restore(bucket, key, promoted.archive);
          promoted.archive = null;
        }
        if (entry!.deleteMarker) ctx.set('x-amz-delete-marker', 'true');
      }
      ctx.set('x-amz-version-id', versionId);
      ctx.status = 204;
      ctx.body = '';
      return;
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
    /** Emulate a versioned bucket (default true, like the real one). */
    versioning?: boolean;
  } = {},
): Promise<S3rverHandle> {
  const bucket = options.bucket ?? 'backups';
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const archiveRoot = await mkdtemp(join(tmpdir(), 's3rver-versions-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  // Must run before s3rver's router; Koa composes `middleware` when the server starts listening.
  server.middleware.unshift(gapFiller(server), ...(options.versioning === false ? [] : [versioning(server, archiveRoot)]));
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
      await rm(archiveRoot, { recursive: true, force: true });
    },
  };
}
