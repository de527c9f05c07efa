import { constants } from 'node:fs';
import { lstat, open, readdir, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { openDirInside, UnsafeEfsPathError } from './efs-no-follow.js';

/**
 * Deleting a tree on the backup EFS as root without following links, not even ones planted while it runs.
 * A plain recursive rm resolves every path from the top again: a target's container that swaps a directory of its
 * run for a link to another target's directory between two steps makes root delete there. Here every directory is
 * opened (O_NOFOLLOW, checked to be the one asked for) and its entries are reached through that descriptor
 * (/proc/self/fd/N/<name>, which resolves to the opened directory itself, as unlinkat would): swapping a name above
 * changes nothing, and a link in the tree is removed, never entered.
 */

/** Most entries one removal deletes: a container filling its directory with millions of files cannot hold an invocation. */
export const MAX_REMOVED_ENTRIES = 100_000;
/** Deepest directory nesting removed: each level holds a descriptor open. */
export const MAX_REMOVED_DEPTH = 32;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The directory `dir` itself, opened without following a link in its place. */
async function openTop(dir: string): Promise<FileHandle> {
  try {
    return await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    if (code(error) === 'ELOOP' || code(error) === 'ENOTDIR') throw new UnsafeEfsPathError(`${dir} is not a directory (a symbolic link is not followed)`, { cause: error });
    throw error;
  }
}

/** Removes `path` (a file, a link or a directory tree) inside `dir`; nothing when it is gone already. */
export async function removeInside(dir: string, path: string): Promise<void> {
  const parent = dirname(resolve(path));
  let parentHandle: FileHandle;
  try {
    parentHandle = parent === resolve(dir) ? await openTop(dir) : await openDirInside(dir, parent);
  } catch (error) {
    if (code(error) === 'ENOENT') return;
    throw error;
  }
  try {
    await removeEntry(`/proc/self/fd/${parentHandle.fd}`, basename(path), { entries: 0, path }, 0);
  } finally {
    await parentHandle.close();
  }
}

interface Budget {
  entries: number;
  readonly path: string;
}

/** Removes the entry `name` of the opened directory `parentFd` (a /proc/self/fd path). */
async function removeEntry(parentFd: string, name: string, budget: Budget, depth: number): Promise<void> {
  if (++budget.entries > MAX_REMOVED_ENTRIES) throw new UnsafeEfsPathError(`${budget.path} holds more than ${MAX_REMOVED_ENTRIES} entries: it is not removed`);
  const entry = `${parentFd}/${name}`;
  const info = await lstat(entry).catch((error: unknown) => (code(error) === 'ENOENT' ? null : Promise.reject(error)));
  if (info === null) return;
  // unlink never follows a link: a link (or a file) is removed itself.
  if (!info.isDirectory()) return unlink(entry).catch((error: unknown) => (code(error) === 'ENOENT' ? undefined : Promise.reject(error)));
  if (depth >= MAX_REMOVED_DEPTH) throw new UnsafeEfsPathError(`${budget.path} nests directories deeper than ${MAX_REMOVED_DEPTH}: it is not removed`);
  let handle: FileHandle;
  try {
    // Only the last component is looked up, in the directory already open: O_NOFOLLOW is the whole check.
    handle = await open(entry, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    if (code(error) === 'ENOENT') return;
    if (code(error) === 'ELOOP' || code(error) === 'ENOTDIR') throw new UnsafeEfsPathError(`${budget.path}: ${name} turned into a link or a file while it was removed`, { cause: error });
    throw error;
  }
  try {
    const self = `/proc/self/fd/${handle.fd}`;
    for (const child of await readdir(self)) await removeEntry(self, child, budget, depth + 1);
  } finally {
    await handle.close();
  }
  try {
    await rmdir(entry);
  } catch (error) {
    if (code(error) === 'ENOENT') return;
    // Swapped for a link or refilled after it was emptied: nothing outside was touched.
    throw new UnsafeEfsPathError(`${budget.path}: ${name} changed while it was removed (${code(error) ?? String(error)})`, { cause: error });
  }
}
