import * as z from 'zod';
import { bucketName, regionName } from '../../shared/config/fields.js';
import { WEEKDAYS } from '../../shared/core/s3-keys.js';

/**
 * The exact shapes of the restore and drill requests (`{"action": "restore" | "drill", ...}`), shared
 * by the event parser, the workflows and the restore CLI.
 */

const DB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/;
const RUN_ID = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6,16}$/;
const runIdField = z.string().regex(RUN_ID, { message: 'must be a run id like 20260101T000000Z-0123ab' });

/** Which backup to restore: a weekday's current object, the newest backup, or one S3 version of an object. */
export const backupSelectorSchema = z.union([
  z.enum([...WEEKDAYS, 'latest']),
  z.strictObject({ versionId: z.string().min(1).max(1024) }),
]);

/** A backup selector. */
export type BackupSelector = z.infer<typeof backupSelectorSchema>;

/** Restore one backup of a target; repeat it with `runId` to carry the restore on and see its progress. */
export const restoreRequestSchema = z.strictObject({
  action: z.literal('restore'),
  target: z.string().min(1),
  backup: backupSelectorSchema,
  intoDatabase: z
    .string()
    .regex(DB_NAME, { message: 'must be 1-63 letters, digits, underscores, hyphens or dollar signs' })
    .optional(),
  overwrite: z.boolean().default(false),
  /** Read the restored database's content back and compare it with the archive's and the manifest's (SQL engines). */
  verify: z.boolean().default(false),
  /** Read the backup from this bucket: the deployment's replica in the second region (`replication`); default the deployment's bucket. */
  from: z.strictObject({ bucket: bucketName, region: regionName }).optional(),
  runId: runIdField.optional(),
});

/** A parsed restore request. */
export type RestoreRequest = z.infer<typeof restoreRequestSchema>;

/** Run a restore drill of a target now (or, with `runId`, carry one on and see its progress). */
export const drillRequestSchema = z.strictObject({
  action: z.literal('drill'),
  target: z.string().min(1),
  runId: runIdField.optional(),
});

/** A parsed drill request. */
export type DrillRequest = z.infer<typeof drillRequestSchema>;

/** How a selector reads in logs and messages. */
export function describeSelector(selector: BackupSelector): string {
  return typeof selector === 'string' ? selector : `version ${selector.versionId}`;
}
