import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { CREATE_NO_FOLLOW, openConfined } from './efs-no-follow.js';

/**
 * Replaces `path` with `value` as JSON, atomically and durably: a reader sees the old file or the new one, never
 * half of one (write a uniquely named temporary file beside it, fsync it, then rename). The temporary file is
 * removed on failure, and the error is thrown as it came. With `confineTo` (a target's directory on EFS) the
 * temporary file is created only inside it and never through a link; the rename then finds it only where it was made.
 */
export async function writeJsonAtomic(path: string, value: unknown, confineTo?: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await openConfined(confineTo, tmp, confineTo === undefined ? constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL : CREATE_NO_FOLLOW);
    try {
      await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}
