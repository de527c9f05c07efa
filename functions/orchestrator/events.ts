import * as z from 'zod';
import { formatIssues } from '../shared/config/load.js';
import { BackupError } from '../shared/errors.js';
import { drillRequestSchema, restoreRequestSchema, type DrillRequest, type RestoreRequest } from './restore/restore-request.js';

/** The invocation event is none of the shapes the orchestrator accepts. */
export class EventError extends BackupError {}

/** The hourly EventBridge schedule's event. */
const scheduledSchema = z.looseObject({ source: z.literal('aws.events'), 'detail-type': z.literal('Scheduled Event') });
/** Back up one target now, whatever its schedule says. */
const backupSchema = z.strictObject({ action: z.literal('backup'), target: z.string().min(1) });
/** Read a probe file the exec-checker wrote from the container into the target's directory (`.probe-<id>`, nothing else). */
const probeSchema = z.strictObject({
  action: z.literal('probe'),
  target: z.string({ error: 'is required: the probe file is in the target\'s own directory' }).min(1),
  file: z.string().regex(/^\.probe-[A-Za-z0-9_-]{1,64}$/, { message: 'must be a probe file name like ".probe-1a2b3c"' }),
  expect: z.string().optional(),
});
/** Report every target's run state on the backup EFS (read-only: `npm run status`). */
const statusSchema = z.strictObject({ action: z.literal('status') });

/** A parsed invocation request. */
export type Request =
  | { action: 'scheduled' }
  | z.infer<typeof backupSchema>
  | z.infer<typeof probeSchema>
  | z.infer<typeof statusSchema>
  | RestoreRequest
  | DrillRequest;

/** Tells the event's kind and validates it; throws EventError naming what is wrong. */
export function parseEvent(event: unknown): Request {
  if (scheduledSchema.safeParse(event).success) return { action: 'scheduled' };
  const action = (event as { action?: unknown } | null)?.action;
  const schema = action === 'backup' ? backupSchema : action === 'probe' ? probeSchema : action === 'status' ? statusSchema : action === 'restore' ? restoreRequestSchema : action === 'drill' ? drillRequestSchema : null;
  if (schema === null) {
    throw new EventError(
      'unknown event: expected an EventBridge "Scheduled Event" or {"action": "backup" | "probe" | "status" | "restore" | "drill", ...}',
    );
  }
  const parsed = schema.safeParse(event);
  if (!parsed.success) throw new EventError(`invalid ${String(action)} event: ${formatIssues(parsed.error.issues).join('; ')}`);
  return parsed.data;
}
