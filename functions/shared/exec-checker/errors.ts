import { BackupError } from '../errors.js';

/** The checker cannot run at all (task not found, target unknown); the message says what to pass instead. */
export class ExecCheckError extends BackupError {}

/** The named target is not in the config: a usage error. */
export class UnknownTargetError extends ExecCheckError {}
