import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as z from 'zod';
import { ENGINES, type Engine } from '../config/schema.js';
import { BackupError } from '../errors.js';
import { countsSchema } from './counts.js';

/** Name of the marker the in-container job writes last, atomically, into its run directory. */
export const MARKER_FILE = 'done.gz';

/** The done.gz marker is missing its gzip framing, is not JSON, or does not match the schema. */
export class MarkerError extends BackupError {}

/** The most a marker may unpack to (counts of some 300 000 tables): a gzip bomb must not take the Lambda's memory. */
export const MAX_MARKER_BYTES = 16 * 1024 * 1024;

const isoTime = z.string().min(1);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** The job hashes its dump in chunks of this size (hash_stream in scripts/common.ts); upload parts are whole chunks. */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Where the job's per-chunk sha256s of the dump are: a file beside it in the run directory, one lowercase hex sha256
 * and a newline per chunk (a 1 TB dump has 131 072, 8.5 MB: too many for the marker itself), with its own sha256.
 */
export const chunkListSchema = z.object({
  file: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$/, { message: 'must be a plain file name in the run directory' }),
  chunkBytes: z.number().int().positive(),
  count: z.number().int().nonnegative(),
  sha256: sha256Hex,
});

/** A marker's pointer to the chunk list. */
export type ChunkListEntry = z.infer<typeof chunkListSchema>;

/** Shape of the gzip'ed JSON the in-container job writes as done.gz. */
export const markerSchema = z.object({
  runId: z.string(),
  kind: z.enum(['backup', 'restore', 'drill']),
  engine: z.enum(ENGINES),
  toolVersion: z.string(),
  steps: z.array(z.object({ name: z.string(), status: z.number().int() })),
  ok: z.boolean(),
  file: z.string().nullable(),
  bytes: z.number().int().nonnegative().nullable(),
  sha256: sha256Hex.nullable(),
  /** Absent from jobs that could not hash chunks (and from earlier versions): the upload then re-hashes the whole file. */
  chunks: chunkListSchema.nullable().optional(),
  startedAt: isoTime,
  endedAt: isoTime,
  stderrTail: z.string(),
  counts: countsSchema,
  note: z.string().optional(),
});

/** A parsed done.gz marker. */
export type Marker = z.infer<typeof markerSchema>;

/** Parses done.gz; `ok` is forced to false unless there is at least one step and every step's status is 0. */
export function parseMarker(gz: Buffer): Marker {
  let text: string;
  try {
    text = gunzipSync(gz, { maxOutputLength: MAX_MARKER_BYTES }).toString('utf8');
  } catch (cause) {
    if (cause instanceof RangeError) {
      throw new MarkerError(`${MARKER_FILE} unpacks to more than ${MAX_MARKER_BYTES} bytes; the run is treated as failed, see its log`, { cause });
    }
    throw new MarkerError(`${MARKER_FILE} is not valid gzip (${(cause as Error).message}); the run is treated as failed, start a new one`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new MarkerError(`${MARKER_FILE} does not hold valid JSON (${(cause as Error).message}); the run is treated as failed, see its log`, { cause });
  }
  const parsed = markerSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new MarkerError(`${MARKER_FILE} does not match the marker schema (${problems}); the run is treated as failed`, { cause: parsed.error });
  }
  const marker = parsed.data;
  const allZero = marker.steps.length > 0 && marker.steps.every((s) => s.status === 0);
  return { ...marker, ok: marker.ok && allZero };
}

/**
 * The sha256s of a chunk list file, checked against the marker's entry and the dump's size; throws MarkerError naming
 * what does not fit (the run fails: a marker must not vouch for a list it does not describe).
 */
export function parseChunkList(data: Buffer, entry: ChunkListEntry, dumpBytes: number): string[] {
  const expected = Math.ceil(dumpBytes / entry.chunkBytes);
  if (entry.count !== expected) {
    throw new MarkerError(`the marker's chunk list has ${entry.count} chunks but a ${dumpBytes}-byte dump has ${expected} of ${entry.chunkBytes} bytes`);
  }
  if (data.length !== entry.count * 65) {
    throw new MarkerError(`chunk list ${entry.file} is ${data.length} bytes but ${entry.count} sha256 lines are ${entry.count * 65}`);
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== entry.sha256) throw new MarkerError(`chunk list ${entry.file} has sha256 ${actual} but the marker says ${entry.sha256}`);
  const lines = data.toString('latin1').split('\n', entry.count);
  const bad = lines.findIndex((l) => !/^[0-9a-f]{64}$/.test(l));
  if (bad >= 0) throw new MarkerError(`line ${bad + 1} of chunk list ${entry.file} is not a lowercase hex sha256`);
  return lines;
}

/** File extension of an engine's dump (also the S3 object's). */
export function extensionFor(engine: Engine): string {
  const extensions: Record<Engine, string> = {
    postgres: 'pgdump',
    redis: 'rdb',
    mysql: 'sql.gz',
    mariadb: 'sql.gz',
    mongodb: 'archive.gz',
  };
  return extensions[engine];
}
