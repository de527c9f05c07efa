import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
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
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
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
