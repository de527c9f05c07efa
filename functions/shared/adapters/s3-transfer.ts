import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { IHasher } from 'hash-wasm';
import hashWasm from 'hash-wasm/dist/sha256.umd.min.js';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { rename, rm, type FileHandle } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError, errorMessage } from '../errors.js';
import { writeJsonAtomic } from './atomic-json.js';
import { APPEND_NO_FOLLOW, openConfined, READ_NO_FOLLOW, statConfined } from './efs-no-follow.js';

/**
 * Resumable streaming transfers between a file on EFS and S3. Uploads are hand-rolled multipart
 * uploads with the SDK's commands (not lib-storage's Upload) because the upload id and finished parts
 * must survive the Lambda that started them: lib-storage cannot resume another process's upload.
 */

/** An S3 transfer failed; the message says whether a later call can resume it. */
export class S3TransferError extends BackupError {}
/** The bytes read do not have the sha256 the marker or manifest promised. */
export class ChecksumMismatchError extends S3TransferError {}
/** The file to upload is empty: a dump of zero bytes is never a valid backup. */
export class EmptyFileError extends S3TransferError {}

const MiB = 1024 * 1024;

/** S3's multipart limits and this module's defaults. */
export const MULTIPART = {
  minPartSize: 5 * MiB,
  maxPartSize: 5 * 1024 * MiB,
  maxParts: 10_000,
  /** Measured (npm run bench): 8 MiB × 4 uploads as fast as 16 MiB × 4 and keeps the process under 128 MiB. */
  defaultPartSize: 8 * MiB,
  defaultConcurrency: 4,
  /** Part buffers held at once stay within this, whatever the file size: large files get fewer parts in flight. */
  bufferBudget: 40 * MiB,
  downloadChunkSize: 64 * MiB,
} as const;

/** Per-chunk sha256s of a finished file, from the job that wrote it (hash_stream in core/scripts/common.ts). */
export interface ChunkHashes {
  /** Bytes per chunk; every part is a whole number of chunks, and only the file's last chunk may be shorter. */
  chunkBytes: number;
  /** Lowercase hex sha256 of each chunk, in file order. */
  sha256: readonly string[];
}

/** One part S3 holds for an upload, as recorded on EFS. */
export interface UploadedPart {
  PartNumber: number;
  ETag: string;
  size: number;
  checksumCRC32?: string;
  /** sha256 of each chunk of a part sent while the file grew; the final call compares them with the job's chunk list. */
  chunks?: string[];
}

/** Upload state kept on EFS between invocations (the file at `progressPath`). */
export interface UploadProgress {
  key: string;
  uploadId: string;
  partSize: number;
  fileSize: number;
  parts: UploadedPart[];
  bucket?: string;
  /** Parts were sent while the file was still being written (`growing`); the final call checks each against the file. */
  growing?: boolean;
  /** mtime of the file when the upload started; a different file restarts the upload. */
  fileMtimeMs?: number;
  /** Set just before CompleteMultipartUpload, so a call that died after completing is recognised. */
  completing?: { sha256: string };
}

/** Inputs of uploadFileResumable. */
export interface UploadOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  filePath: string;
  /** JSON file on EFS recording uploadId + finished parts; written atomically after each part. */
  progressPath: string;
  /** The directory the file and progress must lie in (a target's directory on EFS): opened there only, never through a link. Default: no confinement. */
  confineTo?: string;
  /** Default 8 MiB; at least 5 MiB; grown so a file never needs more than 10 000 parts. */
  partSizeBytes?: number;
  /** Parts are a whole number of chunks of this size (default `chunks.chunkBytes`, else 1 MiB); growing parts record their chunks' sha256s. */
  chunkBytes?: number;
  /**
   * The job's per-chunk hashes of the finished file (needs expectedSha256): every part read is checked against them before
   * it is sent, and parts already in S3 are never read again, so every call makes progress however large the file is.
   * Without them every call re-reads the parts already sent to hash the whole file.
   */
  chunks?: ChunkHashes;
  /** Most parts in flight at once (default 4), lowered so (concurrency + 1) part buffers fit MULTIPART.bufferBudget. */
  concurrency?: number;
  /** From the marker: a mismatch aborts the upload, and the key keeps its previous object. */
  expectedSha256?: string | null;
  /** Epoch ms: no part is started after it; progress is left for the next call. */
  deadline?: number;
  metadata?: Record<string, string>;
  contentType?: string;
  serverSideEncryption?: { kmsKeyId?: string };
  /** Aborting cancels in-flight parts and returns `paused` with the progress kept. */
  signal?: AbortSignal;
  /**
   * The file is still being written (appended to): send only its whole parts and return `paused` without completing.
   * A later call on the finished file resumes from them, after checking each part's chunk hashes against the file's.
   */
  growing?: boolean;
}

/** Outcome of uploadFileResumable. */
export type UploadResult =
  | { status: 'complete'; sha256: string; size: number; etag: string; versionId: string | null; parts: number; resumed: boolean }
  | { status: 'paused'; partsDone: number; partsTotal: number };

/**
 * Parts in flight for a part size: the requested number, lowered until its (concurrency + 1) part buffers fit the
 * buffer budget, but never below 1 (a file above ~80 GiB needs parts so large that 2 buffers exceed the budget).
 */
export function planConcurrency(partSize: number, requested: number = MULTIPART.defaultConcurrency): number {
  if (!Number.isInteger(requested) || requested < 1) throw new S3TransferError(`concurrency must be a positive integer, got ${requested}`);
  return Math.max(1, Math.min(requested, Math.floor(MULTIPART.bufferBudget / partSize) - 1));
}

/** The part size for a file: the requested size, grown (in whole chunks, default 1 MiB) until the file fits in 10 000 parts. */
export function planPartSize(fileSize: number, requested: number = MULTIPART.defaultPartSize, chunkBytes: number = MiB): number {
  if (!Number.isInteger(requested) || requested < MULTIPART.minPartSize) {
    throw new S3TransferError(`part size ${requested} is below S3's minimum of 5 MiB (${MULTIPART.minPartSize} bytes)`);
  }
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new S3TransferError(`chunk size must be a positive integer, got ${chunkBytes}`);
  const whole = (bytes: number) => Math.ceil(bytes / chunkBytes) * chunkBytes;
  const size = Math.max(whole(requested), whole(Math.ceil(fileSize / MULTIPART.maxParts)));
  if (size > MULTIPART.maxPartSize) {
    throw new S3TransferError(`a file of ${fileSize} bytes exceeds S3's maximum object size of 5 TiB`);
  }
  return size;
}

const isCode = (error: unknown, ...codes: string[]) =>
  error instanceof Error && (codes.includes(error.name) || codes.includes((error as { Code?: string }).Code ?? ''));
const httpStatus = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const unquote = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');
const sha256Hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((h, i) => h === b[i]);

/** Most bytes of a progress file: 5 TiB of 8 MiB chunks' sha256s, with room. */
export const MAX_PROGRESS_BYTES = 256 * MiB;

async function readJson<T>(path: string, confineTo: string | undefined): Promise<T | null> {
  try {
    const fh = await openConfined(confineTo, path, READ_NO_FOLLOW);
    let text: string;
    try {
      if ((await fh.stat()).size > MAX_PROGRESS_BYTES) throw new S3TransferError(`${path} is larger than any progress file: it is not read`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
    return JSON.parse(text) as T;
  } catch (error) {
    // A missing file is a fresh start; an unreadable one too (the orphaned upload is expired by the bucket's lifecycle rule).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return null;
    throw error;
  }
}

async function readFully(fh: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await fh.read(buffer, offset, buffer.length - offset, position + offset);
    if (bytesRead === 0) throw new S3TransferError(`the file shrank while it was being uploaded (at byte ${position + offset})`);
    offset += bytesRead;
  }
}

/** The ETag S3 gives a completed multipart upload: md5 of the parts' binary MD5s, then `-<part count>`. */
export function multipartEtag(parts: readonly { ETag: string }[]): string {
  const md5 = createHash('md5');
  for (const p of parts) md5.update(Buffer.from(unquote(p.ETag), 'hex'));
  return `${md5.digest('hex')}-${parts.length}`;
}

/** Parts S3 holds for an upload, or null when the upload no longer exists. */
async function listUploadedParts(s3: S3Client, bucket: string, key: string, uploadId: string) {
  const parts = new Map<number, { ETag: string; Size: number; checksumCRC32?: string }>();
  let marker: string | undefined;
  try {
    do {
      const page = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      for (const p of page.Parts ?? []) {
        if (p.PartNumber !== undefined) {
          parts.set(p.PartNumber, { ETag: unquote(p.ETag), Size: p.Size ?? -1, checksumCRC32: p.ChecksumCRC32 });
        }
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
  } catch (error) {
    if (isCode(error, 'NoSuchUpload') || httpStatus(error) === 404) return null;
    throw new S3TransferError(`cannot list the parts of upload ${uploadId} of s3://${bucket}/${key}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return parts;
}

async function abortQuietly(s3: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  try {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  } catch (error) {
    if (!(isCode(error, 'NoSuchUpload') || httpStatus(error) === 404)) throw error;
  }
}

/** Aborts the multipart upload recorded at progressPath (if any) and deletes the progress file. */
export async function abortUpload(s3: S3Client, bucket: string, progressPath: string, confineTo?: string): Promise<void> {
  const progress = await readJson<UploadProgress>(progressPath, confineTo);
  if (progress) await abortQuietly(s3, progress.bucket ?? bucket, progress.key, progress.uploadId);
  await rm(progressPath, { force: true });
}

/** How one call cuts the file into parts. */
interface PartPlan {
  fileSize: number;
  mtimeMs: number;
  partSize: number;
  chunkBytes: number;
  partsTotal: number;
  lengthOf(n: number): number;
}

function planParts(opts: UploadOptions, fileSize: number, mtimeMs: number): PartPlan {
  const chunkBytes = opts.chunks?.chunkBytes ?? opts.chunkBytes ?? MiB;
  // A growing file's final size is unknown: its parts have the requested size (files above ~80 GiB restart at the end).
  const partSize = planPartSize(opts.growing ? 0 : fileSize, opts.partSizeBytes, chunkBytes);
  // Of a growing file only whole parts are final; the rest may still change length.
  const partsTotal = opts.growing ? Math.floor(fileSize / partSize) : Math.ceil(fileSize / partSize);
  return { fileSize, mtimeMs, partSize, chunkBytes, partsTotal, lengthOf: (n) => Math.min(partSize, fileSize - (n - 1) * partSize) };
}

/** Throws unless the job's chunk list describes a file of this size, one sha256 per chunk. */
function checkChunkList(opts: UploadOptions, plan: PartPlan): void {
  const { chunks } = opts;
  if (!chunks) return;
  if (!opts.expectedSha256) throw new S3TransferError('a chunk list needs the sha256 of the whole file (expectedSha256)');
  const count = Math.ceil(plan.fileSize / chunks.chunkBytes);
  if (chunks.sha256.length !== count) {
    throw new ChecksumMismatchError(
      `the job's chunk list has ${chunks.sha256.length} sha256s but ${opts.filePath} (${plan.fileSize} bytes) has ${count} chunks of ` +
        `${chunks.chunkBytes} bytes: the dump changed after its marker was written`,
    );
  }
}

/**
 * The recorded upload this call carries on, or a new one; `result` when the recorded upload had already completed.
 * A recorded upload of another key, part size or file is aborted.
 */
async function resumeOrCreate(
  opts: UploadOptions,
  plan: PartPlan,
): Promise<{ state: UploadProgress; resumed: boolean } | { result: UploadResult }> {
  const { s3, bucket, key, progressPath } = opts;
  let progress = await readJson<UploadProgress>(progressPath, opts.confineTo);
  // Parts sent while the file grew are kept if the file only grew since; their bytes are checked before completing.
  const sameFile =
    progress &&
    progress.key === key &&
    (progress.bucket ?? bucket) === bucket &&
    progress.partSize === plan.partSize &&
    (progress.growing
      ? progress.fileSize <= plan.fileSize
      : progress.fileSize === plan.fileSize && (progress.fileMtimeMs === undefined || progress.fileMtimeMs === plan.mtimeMs));
  if (progress && !sameFile) {
    await abortQuietly(s3, progress.bucket ?? bucket, progress.key, progress.uploadId);
    progress = null;
  }
  let resumed = false;
  // A growing file's progress is this run's own, recorded moments ago: its parts are listed once, by the final call.
  if (progress && !opts.growing) {
    const listed = await listUploadedParts(s3, bucket, key, progress.uploadId);
    if (listed === null && progress.completing) {
      const result = await completedBefore(opts, plan, progress);
      if (result) return { result };
    }
    if (listed === null) {
      progress = null;
    } else {
      resumed = true;
      // Trust a recorded part only if S3 still has it with the same ETag and size; anything else is re-sent. A part an
      // earlier version recorded with one sha256 for the whole part (not per chunk) is re-sent too.
      progress.parts = progress.parts.filter((p) => {
        const held = listed.get(p.PartNumber);
        return held !== undefined && held.ETag === unquote(p.ETag) && held.Size === p.size && p.size === plan.lengthOf(p.PartNumber) && !('sha256' in p);
      });
    }
  }
  if (!progress) {
    progress = await createUpload(opts, plan);
    await writeJsonAtomic(progressPath, progress, opts.confineTo);
  }
  // What this call saw: a growing file's new length; once finished, the file as it must stay until completed.
  progress.fileSize = plan.fileSize;
  if (!opts.growing) {
    delete progress.growing;
    progress.fileMtimeMs = plan.mtimeMs;
  }
  return { state: progress, resumed };
}

/** The result of an upload the previous call completed before dying (its progress says `completing`), or null. */
async function completedBefore(opts: UploadOptions, plan: PartPlan, progress: UploadProgress): Promise<UploadResult | null> {
  const { s3, bucket, key, progressPath } = opts;
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(() => null);
  const etag = unquote(head?.ETag);
  // S3's multipart ETag is derived from the part ETags; an emulator without it (s3rver) is judged by size and by
  // the metadata this upload set (a previous object of the same size must not pass for the new one).
  const sameMetadata = Object.entries(opts.metadata ?? {}).every(([k, v]) => head?.Metadata?.[k.toLowerCase()] === v);
  const ours = etag.includes('-') ? etag === multipartEtag(progress.parts) : sameMetadata;
  if (!(head?.ContentLength === plan.fileSize && progress.parts.length === plan.partsTotal && ours)) return null;
  await rm(progressPath, { force: true });
  const sha256 = progress.completing!.sha256;
  return { status: 'complete', sha256, size: plan.fileSize, etag, versionId: head.VersionId ?? null, parts: plan.partsTotal, resumed: true };
}

async function createUpload(opts: UploadOptions, plan: PartPlan): Promise<UploadProgress> {
  const { s3, bucket, key } = opts;
  const kms = opts.serverSideEncryption;
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: opts.contentType ?? 'application/octet-stream',
      Metadata: opts.metadata,
      ChecksumAlgorithm: 'CRC32',
      ...(kms ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kms.kmsKeyId } : {}),
    }),
  );
  if (!created.UploadId) throw new S3TransferError(`S3 returned no upload id for s3://${bucket}/${key}`);
  const progress: UploadProgress = { key, bucket, uploadId: created.UploadId, partSize: plan.partSize, fileSize: plan.fileSize, parts: [] };
  if (opts.growing) progress.growing = true;
  else progress.fileMtimeMs = plan.mtimeMs;
  return progress;
}

/** Streams a file to S3 as a multipart upload that a later call resumes from progressPath; see UploadOptions. */
export async function uploadFileResumable(opts: UploadOptions): Promise<UploadResult> {
  const { s3, bucket, key, filePath, progressPath } = opts;
  const info = await openConfined(opts.confineTo, filePath, READ_NO_FOLLOW).then(async (fh) => fh.stat().finally(() => fh.close())).catch((error: unknown) => {
    throw new S3TransferError(`cannot read ${filePath}: ${errorMessage(error)}`, { cause: error });
  });
  if (info.size === 0 && !opts.growing) throw new EmptyFileError(`${filePath} is empty: a 0-byte dump is not a backup; check the dump log`);
  const plan = planParts(opts, info.size, info.mtimeMs);
  checkChunkList(opts, plan);
  if (plan.partsTotal === 0) return { status: 'paused', partsDone: 0, partsTotal: 0 };
  const begun = await resumeOrCreate(opts, plan);
  if ('result' in begun) return begun.result;
  const { state, resumed } = begun;

  const sent = await sendParts(opts, plan, state);
  const partsDone = state.parts.length;
  const { partsTotal } = plan;
  if (sent.mismatch) {
    await abortQuietly(s3, bucket, key, state.uploadId);
    await rm(progressPath, { force: true });
    throw sent.mismatch;
  }
  if (sent.failure) {
    if (opts.signal?.aborted) return { status: 'paused', partsDone, partsTotal };
    const { part, error } = sent.failure;
    throw new S3TransferError(
      `uploading part ${part}/${partsTotal} of s3://${bucket}/${key} failed: ${errorMessage(error)}; ` +
        `${partsDone} of ${partsTotal} parts are recorded in ${progressPath} and the next call resumes from there`,
      { cause: error },
    );
  }
  if (sent.stopped || opts.growing) return { status: 'paused', partsDone, partsTotal };
  if (partsDone !== partsTotal) throw new S3TransferError(`internal error: ${partsDone} of ${partsTotal} parts uploaded`);

  // With the job's chunk list every byte sent was checked against it, and the whole file's sha256 is the job's.
  const sha256 = opts.chunks ? opts.expectedSha256! : sent.sha256;
  if (opts.expectedSha256 && opts.expectedSha256 !== sha256) {
    await abortQuietly(s3, bucket, key, state.uploadId);
    await rm(progressPath, { force: true });
    throw new ChecksumMismatchError(
      `sha256 of ${filePath} is ${sha256} but the marker says ${opts.expectedSha256}: the dump is corrupt or changed; ` +
        `the upload was aborted and s3://${bucket}/${key} keeps its previous object`,
    );
  }
  return completeUpload(opts, plan, state, sha256, resumed);
}

async function completeUpload(opts: UploadOptions, plan: PartPlan, state: UploadProgress, sha256: string, resumed: boolean): Promise<UploadResult> {
  const { s3, bucket, key, progressPath } = opts;
  await writeJsonAtomic(progressPath, { ...state, completing: { sha256 } } satisfies UploadProgress, opts.confineTo);
  let completed;
  try {
    completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: state.uploadId,
        MultipartUpload: {
          Parts: state.parts.map((p) => ({ PartNumber: p.PartNumber, ETag: `"${p.ETag}"`, ...(p.checksumCRC32 ? { ChecksumCRC32: p.checksumCRC32 } : {}) })),
        },
      }),
    );
  } catch (error) {
    throw new S3TransferError(
      `completing the upload of s3://${bucket}/${key} failed: ${errorMessage(error)}; the next call retries from ${progressPath}`,
      { cause: error },
    );
  }
  await rm(progressPath, { force: true });
  return { status: 'complete', sha256, size: plan.fileSize, etag: unquote(completed.ETag), versionId: completed.VersionId ?? null, parts: plan.partsTotal, resumed };
}

/** sha256 of each chunk of a part. */
function chunkSha256s(buffer: Buffer, chunkBytes: number): string[] {
  const hashes: string[] = [];
  for (let offset = 0; offset < buffer.length; offset += chunkBytes) hashes.push(sha256Hex(buffer.subarray(offset, offset + chunkBytes)));
  return hashes;
}

/** What sendParts ended with: the whole file's sha256 (when it read all of it), or why it stopped. */
interface SendOutcome {
  sha256: string;
  stopped: boolean;
  failure: { part: number; error: unknown } | null;
  mismatch: ChecksumMismatchError | null;
}

/**
 * Sends the parts S3 does not hold yet, `concurrency` at a time, recording each in `state` and on EFS. With the job's
 * chunk list, parts already in S3 are skipped unread (a part sent while the file grew, when its chunks hash alike);
 * without it they are read again for the whole file's sha256, and re-sent if their bytes changed since.
 */
async function sendParts(opts: UploadOptions, plan: PartPlan, state: UploadProgress): Promise<SendOutcome> {
  const { partSize, chunkBytes, partsTotal } = plan;
  const list = opts.chunks?.sha256;
  const perPart = partSize / chunkBytes;
  const listed = (n: number) => list!.slice((n - 1) * perPart, n * perPart);
  const recorded = new Map(state.parts.map((p) => [p.PartNumber, p]));
  const hash = createHash('sha256');
  const out: SendOutcome = { sha256: '', stopped: false, failure: null, mismatch: null };
  const pool = partPool(opts, plan, state, out);
  const fh = await openConfined(opts.confineTo, opts.filePath, READ_NO_FOLLOW);
  try {
    for (let n = 1; n <= partsTotal && !out.failure; n++) {
      const done = recorded.get(n);
      // Never read again: a growing file's parts sent already, and parts the job's chunk list vouches for.
      if (done && (opts.growing || (list && (done.chunks === undefined || sameList(done.chunks, listed(n)))))) continue;
      const buffer = await pool.buffer(n);
      await readFully(fh, buffer, (n - 1) * partSize);
      const chunks = opts.growing || list || done?.chunks ? chunkSha256s(buffer, chunkBytes) : [];
      if (list) {
        const bad = chunks.findIndex((h, i) => h !== listed(n)[i]);
        if (bad >= 0) {
          out.mismatch = chunkMismatch(opts, plan, (n - 1) * perPart + bad, chunks[bad]!, listed(n)[bad]!);
          pool.release(buffer);
          break;
        }
      } else if (!opts.growing) {
        hash.update(buffer);
      }
      // Already in S3, read again only to hash (EFS reads are cheap, re-uploading is not): kept while the file holds its bytes.
      if (done && !list && (done.chunks === undefined || sameList(done.chunks, chunks))) {
        pool.release(buffer);
        continue;
      }
      if (done) state.parts = state.parts.filter((p) => p.PartNumber !== n);
      if (!(await pool.send(n, buffer, opts.growing ? chunks : undefined))) break;
    }
    await pool.drain();
  } finally {
    await fh.close();
  }
  out.sha256 = hash.digest('hex');
  return out;
}

function chunkMismatch(opts: UploadOptions, plan: PartPlan, chunk: number, actual: string, expected: string): ChecksumMismatchError {
  const start = chunk * plan.chunkBytes;
  const end = Math.min(start + plan.chunkBytes, plan.fileSize) - 1;
  return new ChecksumMismatchError(
    `bytes ${start}-${end} of ${opts.filePath} have sha256 ${actual} but the job's chunk list says ${expected}: ` +
      `the dump changed after its marker was written; the upload was aborted and s3://${opts.bucket}/${opts.key} keeps its previous object`,
  );
}

/**
 * The parts in flight: at most `concurrency`, from a pool of concurrency + 1 part buffers, so memory is independent
 * of the file size. Each finished part is recorded in `state`, and the progress written to EFS beside the parts, not
 * between them (an fsync'ed write per part held each part's buffer, and so a slot, until the disk answered): writes
 * are coalesced, only the newest state matters, and drain awaits the last one.
 */
function partPool(opts: UploadOptions, plan: PartPlan, state: UploadProgress, out: SendOutcome) {
  const concurrency = planConcurrency(plan.partSize, opts.concurrency);
  const buffers: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let latest: UploadProgress | null = null;
  let writing: Promise<void> | null = null;
  const saveProgress = (snapshot: UploadProgress, part: number) => {
    latest = snapshot;
    writing ??= (async () => {
      try {
        while (latest) {
          const next = latest;
          latest = null;
          await writeJsonAtomic(opts.progressPath, next, opts.confineTo);
        }
      } finally {
        writing = null;
      }
    })().catch((error: unknown) => {
      // A failed progress write (a full EFS, say) fails the upload and is reported with the part that caused it.
      out.failure ??= { part, error };
    });
  };
  const shouldStop = () => opts.signal?.aborted === true || (opts.deadline !== undefined && Date.now() >= opts.deadline);
  const release = (buffer: Buffer) => buffers.push(Buffer.from(buffer.buffer, buffer.byteOffset, plan.partSize));
  return {
    buffer: async (n: number) => (buffers.pop() ?? Buffer.allocUnsafe(plan.partSize)).subarray(0, plan.lengthOf(n)),
    release,
    /** Starts sending part n; false when the call must stop instead (deadline, abort, a failed part). */
    async send(n: number, buffer: Buffer, chunks: string[] | undefined): Promise<boolean> {
      while (inFlight.size >= concurrency && !out.failure) await Promise.race(inFlight);
      if (out.failure || shouldStop()) {
        out.stopped = !out.failure;
        release(buffer);
        return false;
      }
      const length = buffer.length;
      const task: Promise<void> = opts.s3
        .send(
          new UploadPartCommand({ Bucket: opts.bucket, Key: opts.key, UploadId: state.uploadId, PartNumber: n, Body: buffer, ContentLength: length, ChecksumAlgorithm: 'CRC32' }),
          { abortSignal: opts.signal },
        )
        .then((res) => {
          if (!res.ETag) throw new S3TransferError(`S3 returned no ETag for part ${n}`);
          state.parts.push({
            PartNumber: n,
            ETag: unquote(res.ETag),
            size: length,
            ...(res.ChecksumCRC32 ? { checksumCRC32: res.ChecksumCRC32 } : {}),
            ...(chunks ? { chunks } : {}),
          });
          state.parts.sort((a, b) => a.PartNumber - b.PartNumber);
          saveProgress(structuredClone(state), n);
        })
        .catch((error: unknown) => {
          out.failure ??= { part: n, error };
        })
        .finally(() => {
          release(buffer);
          inFlight.delete(task);
        });
      inFlight.add(task);
      return true;
    },
    async drain(): Promise<void> {
      await Promise.all(inFlight);
      while (writing) await writing;
    },
  };
}

/** Download state kept next to the `.part` file: which object (version) the bytes come from, and their sha256 so far. */
interface DownloadProgress {
  bucket: string;
  key: string;
  versionId: string | null;
  etag: string | null;
  size: number;
  /** The sha256 state (hash-wasm's save(), base64) after the first `bytes` bytes of the `.part` file. */
  hashed?: { bytes: number; state: string };
}

/** Inputs of downloadFileResumable. */
export interface DownloadOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  /** The version to fetch; default the current one, pinned at the first call. */
  versionId?: string;
  filePath: string;
  progressPath: string;
  /** The directory the file and progress must lie in (a target's directory on EFS): written there only, never through a link. Default: no confinement. */
  confineTo?: string;
  expectedSha256: string;
  /** Epoch ms: no range request is started after it. */
  deadline?: number;
  signal?: AbortSignal;
  /** Bytes per range request (default 64 MiB). */
  chunkSizeBytes?: number;
}

/** Outcome of downloadFileResumable. */
export type DownloadResult = { status: 'complete'; sha256: string; size: number } | { status: 'paused'; bytes: number };

/** The object version a download is pinned to: the one recorded at progressPath, or the one S3 has now (recorded). */
async function pinDownload(opts: DownloadOptions, partPath: string): Promise<DownloadProgress> {
  const { s3, bucket, key, progressPath } = opts;
  const progress = await readJson<DownloadProgress>(progressPath, opts.confineTo);
  if (progress && progress.bucket === bucket && progress.key === key && (opts.versionId === undefined || progress.versionId === opts.versionId)) {
    return progress;
  }
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: opts.versionId }), { abortSignal: opts.signal });
  } catch (error) {
    const what = `s3://${bucket}/${key}${opts.versionId ? ` version ${opts.versionId}` : ''}`;
    throw new S3TransferError(
      httpStatus(error) === 404 ? `${what} does not exist: list the backups and pick one that does` : `cannot read ${what}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  const pinned = { bucket, key, versionId: head.VersionId ?? opts.versionId ?? null, etag: head.ETag ?? null, size: head.ContentLength ?? 0 };
  await rm(partPath, { force: true });
  await writeJsonAtomic(progressPath, pinned, opts.confineTo);
  return pinned;
}

/**
 * The sha256 of the `.part` file's first bytes, carried on from the recorded state, and how many bytes that is. Bytes
 * written after the state was recorded (a call that died in between) are cut off and fetched again: nothing is read back.
 */
async function resumeHash(pinned: DownloadProgress, partPath: string, confineTo: string | undefined): Promise<{ hasher: IHasher; bytes: number }> {
  const hasher = await hashWasm.createSHA256();
  const onDisk = (await statConfined(confineTo, partPath).catch(() => null))?.size ?? 0;
  const { hashed } = pinned;
  if (hashed && hashed.bytes <= onDisk && hashed.bytes <= pinned.size) {
    hasher.load(Buffer.from(hashed.state, 'base64'));
    if (onDisk > hashed.bytes) {
      const fh = await openConfined(confineTo, partPath, constants.O_WRONLY);
      await fh.truncate(hashed.bytes).finally(() => fh.close());
    }
    return { hasher, bytes: hashed.bytes };
  }
  // Bytes without a hash state (an earlier version's download) are fetched again.
  hasher.init();
  await rm(partPath, { force: true });
  return { hasher, bytes: 0 };
}

/**
 * Downloads an object with range requests appended to `<filePath>.part`, pinned to one version (or, in an
 * unversioned bucket, to its ETag) so the object cannot change under a resume. The bytes are hashed as they arrive
 * and the hash state is recorded with each range, so no call reads the file back: the sha256 is checked at the end
 * (a mismatch deletes the bytes and throws) and the file renamed into place.
 */
export async function downloadFileResumable(opts: DownloadOptions): Promise<DownloadResult> {
  const { s3, bucket, key, filePath, progressPath } = opts;
  const partPath = `${filePath}.part`;
  const chunk = opts.chunkSizeBytes ?? MULTIPART.downloadChunkSize;
  const pinned = await pinDownload(opts, partPath);
  const shouldStop = () => opts.signal?.aborted === true || (opts.deadline !== undefined && Date.now() >= opts.deadline);
  let { hasher, bytes } = await resumeHash(pinned, partPath, opts.confineTo);
  while (bytes < pinned.size) {
    if (shouldStop()) return { status: 'paused', bytes };
    const end = Math.min(bytes + chunk, pinned.size) - 1;
    try {
      const res = await s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          Range: `bytes=${bytes}-${end}`,
          ...(pinned.versionId ? { VersionId: pinned.versionId } : pinned.etag ? { IfMatch: pinned.etag } : {}),
        }),
        { abortSignal: opts.signal },
      );
      const tap = new Transform({
        transform(data: Buffer, _encoding, done) {
          hasher.update(data);
          done(null, data);
        },
      });
      const out = await openConfined(opts.confineTo, partPath, opts.confineTo === undefined ? constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND : APPEND_NO_FOLLOW);
      await pipeline(res.Body as Readable, tap, out.createWriteStream(), { signal: opts.signal });
    } catch (error) {
      if (opts.signal?.aborted) return { status: 'paused', bytes };
      if (httpStatus(error) === 412 || isCode(error, 'PreconditionFailed')) {
        await rm(partPath, { force: true });
        await rm(progressPath, { force: true });
        throw new S3TransferError(`s3://${bucket}/${key} changed during the download; the partial file was deleted, call again to start over`, { cause: error });
      }
      throw new S3TransferError(`downloading s3://${bucket}/${key} failed at byte ${bytes}: ${errorMessage(error)}; the next call resumes`, { cause: error });
    }
    const written = (await statConfined(opts.confineTo, partPath))?.size ?? 0;
    if (written !== end + 1) {
      throw new S3TransferError(`downloading s3://${bucket}/${key}: the range ending at byte ${end} left ${written} bytes on disk; the next call resumes`);
    }
    bytes = written;
    pinned.hashed = { bytes, state: Buffer.from(hasher.save()).toString('base64') };
    await writeJsonAtomic(progressPath, pinned, opts.confineTo);
  }
  if (pinned.size === 0) await (await openConfined(opts.confineTo, partPath, opts.confineTo === undefined ? constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND : APPEND_NO_FOLLOW)).close();
  const sha256 = hasher.digest('hex');
  if (sha256 !== opts.expectedSha256) {
    await rm(partPath, { force: true });
    await rm(progressPath, { force: true });
    throw new ChecksumMismatchError(
      `s3://${bucket}/${key} has sha256 ${sha256} but the manifest says ${opts.expectedSha256}: the object is corrupt; ` +
        `the downloaded bytes were deleted; restore another backup`,
    );
  }
  await rename(partPath, filePath);
  await rm(progressPath, { force: true });
  return { status: 'complete', sha256, size: pinned.size };
}
