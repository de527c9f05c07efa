import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BackupError } from '../../functions/shared/errors.js';
import { findMissing, missingMessage, type Binary, type BinaryName } from './binaries.js';

/** A program the demo needs is not installed; the message has the command that installs it. */
export class MissingBinaryError extends BackupError {}

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a program is there: its absolute path, else its name in a directory of PATH. */
export function binaryExists(b: Binary, path: string = process.env.PATH ?? SYSTEM_DIRS.join(delimiter)): boolean {
  if (b.path !== undefined) return executable(b.path);
  return path.split(delimiter).some((dir) => dir !== '' && executable(join(dir, b.name)));
}

/** Throws MissingBinaryError (one line per missing program, each with its install command) unless all are there. */
export function checkBinaries(names: readonly BinaryName[], path?: string): void {
  const missing = findMissing(names, (b) => binaryExists(b, path));
  if (missing.length > 0) throw new MissingBinaryError(missing.map(missingMessage).join('\nerror: '));
}
