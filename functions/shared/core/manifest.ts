import * as z from 'zod';
import { ENGINES } from '../config/schema.js';
import { BackupError } from '../errors.js';
import { countsSchema } from './counts.js';
import { shrinkageSchema } from './shrink.js';
import { WEEKDAYS } from './s3-keys.js';

/**
 * The manifest `<weekday>.json` written next to every verified dump. Restores, drills and the
 * schedule ("when did the last backup succeed?") read it back, so it is validated both ways.
 */

/** A manifest that is not JSON or does not match the schema; `problems` name each bad field. */
export class ManifestError extends BackupError {
  constructor(
    message: string,
    /** One entry per problem: `<json path>: <what is wrong>`. */
    readonly problems: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

/** Schema of manifest version 1; unknown fields are dropped so a newer writer does not break an older reader. */
export const manifestSchema = z.object({
  version: z.literal(1),
  target: z.string().min(1),
  engine: z.enum(ENGINES),
  key: z.string().min(1),
  weekday: z.enum(WEEKDAYS),
  size: z.number().int().positive({ message: 'must be a positive byte count (an empty dump is never valid)' }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lowercase hex digits' }),
  toolVersion: z.string(),
  runId: z.string().min(1),
  sourceTask: z.string(),
  startedAt: isoTime,
  dumpEndedAt: isoTime,
  uploadedAt: isoTime,
  checks: z.array(z.object({ name: z.string().min(1), status: z.number().int() })),
  counts: countsSchema,
  objectVersionId: z.string().min(1).nullable(),
  /** Seconds the dump ran in the container and the upload took (summed over invocations); absent in older manifests. */
  dumpSeconds: z.number().nonnegative().optional(),
  uploadSeconds: z.number().nonnegative().optional(),
  /** Set when the dump is much smaller than the backup before it (core/shrink.ts): uploaded, but flagged. */
  shrank: shrinkageSchema.optional(),
});

/** A validated manifest. */
export type Manifest = z.infer<typeof manifestSchema>;

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

/** Validates a manifest object, throwing a ManifestError that names every bad field. */
export function validateManifest(value: unknown, source = 'manifest'): Manifest {
  const result = manifestSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = problemsOf(result.error);
  throw new ManifestError(`${source} is invalid: ${problems.join('; ')}`, problems, { cause: result.error });
}

/** Parses the text of a manifest object, throwing a ManifestError that names every bad field. */
export function parseManifest(json: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ManifestError(`manifest is not JSON (${(error as Error).message}); rewrite it or ignore that backup`, [], {
      cause: error,
    });
  }
  return validateManifest(value);
}

/** The manifest as stored: pretty JSON with a trailing newline, validated first. */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(validateManifest(manifest), null, 2)}\n`;
}
