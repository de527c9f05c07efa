import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { BackupError } from '../errors.js';

/**
 * Opening files on the backup EFS without following symbolic links. Every directory below a target's directory is
 * writable by that target's container, so a name there may be a link the container planted: to /proc/self/environ
 * (the Lambda's credentials), to another target's dump, to a FIFO that blocks the reader. The orchestrator mounts
 * every target's directory, so following one would read (or write) outside the target for the container.
 *
 * How: open with O_NOFOLLOW (a link as the last component fails with ELOOP) and O_NONBLOCK (a FIFO cannot block),
 * fstat the open file (regular files only), then compare the path the kernel opened (/proc/self/fd/N) with the path
 * asked for: a directory on the way that is a link (or was swapped for one after any earlier check) leads elsewhere
 * and is refused. Checking the open descriptor rather than an lstat beforehand leaves no window between check and use.
 */

/** A file on EFS the orchestrator refuses to open: a symbolic link, not a regular file, or leading outside its directory. */
export class UnsafeEfsPathError extends BackupError {}

/** Flags of a read: no link followed, no FIFO waited on. */
export const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Flags of creating a new file (it must not exist): no link followed, no FIFO waited on. */
export const CREATE_NO_FOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Flags of appending to a file, created when missing: no link followed, no FIFO waited on. */
export const APPEND_NO_FOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** `path` relative to `dir`; throws when it is `dir` itself or outside it. */
function below(dir: string, path: string): string {
  const rel = relative(dir, path);
  if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel)) {
    throw new UnsafeEfsPathError(`${path} is not inside ${dir}: the orchestrator reads a target's files only in its own directory`);
  }
  return rel;
}

/** The real path of `dir`, which must be a directory itself (not a link to one). */
async function realDir(dir: string): Promise<string> {
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new UnsafeEfsPathError(`${dir} is not a directory (a symbolic link or a file): it is not followed`);
  return realpath(dir);
}

/**
 * Opens `path`, which must lie inside `dir` (a target's directory), with `flags` plus O_NOFOLLOW | O_NONBLOCK.
 * Throws UnsafeEfsPathError for a link, a non-regular file or a path that leads outside `dir`; ENOENT as it comes.
 */
export async function openInside(dir: string, path: string, flags: number = READ_NO_FOLLOW, mode = 0o600): Promise<FileHandle> {
  return openChecked(dir, path, flags, mode, 'file');
}

/** Sets the mode of the file or directory `path` inside `dir` through a descriptor (fchmod): a link in its place is refused, not followed. */
export async function chmodInside(dir: string, path: string, mode: number, kind: 'file' | 'directory'): Promise<void> {
  const fh = kind === 'directory' ? await openDirInside(dir, path) : await openChecked(dir, path, constants.O_RDONLY, 0, kind);
  try {
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

/** Opens the directory `path` inside `dir` (read-only, O_DIRECTORY) as openInside opens a file: never through a link. */
export async function openDirInside(dir: string, path: string): Promise<FileHandle> {
  return openChecked(dir, path, constants.O_RDONLY | constants.O_DIRECTORY, 0, 'directory');
}

async function openChecked(dir: string, path: string, flags: number, mode: number, kind: 'file' | 'directory'): Promise<FileHandle> {
  const rel = below(dir, path);
  const expected = join(await realDir(dir), rel);
  let fh: FileHandle;
  try {
    fh = await open(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  } catch (error) {
    if (code(error) === 'ELOOP' || code(error) === 'EMLINK') {
      throw new UnsafeEfsPathError(`${path} is a symbolic link: links on the backup EFS are not followed`, { cause: error });
    }
    if (kind === 'directory' && code(error) === 'ENOTDIR') throw new UnsafeEfsPathError(`${path} is not a directory (a symbolic link is not followed)`, { cause: error });
    if (code(error) === 'ENXIO') throw new UnsafeEfsPathError(`${path} is a FIFO or socket, not a regular file`, { cause: error });
    throw error;
  }
  try {
    const info = await fh.stat();
    if (kind === 'file' ? !info.isFile() : !info.isDirectory()) {
      throw new UnsafeEfsPathError(kind === 'file' ? `${path} is not a regular file: only regular files are read on the backup EFS` : `${path} is not a directory`);
    }
    const opened = await readlink(`/proc/self/fd/${fh.fd}`);
    if (opened !== expected) {
      throw new UnsafeEfsPathError(`${path} leads to ${opened}: a directory on the way is a symbolic link (or was moved), and it is not followed`);
    }
    return fh;
  } catch (error) {
    await fh.close();
    throw error;
  }
}

/** Reads `path` inside `dir` as openInside does, or null when it does not exist; refuses a file over `maxBytes`. */
export async function readInside(dir: string, path: string, maxBytes: number): Promise<Buffer | null> {
  let fh: FileHandle;
  try {
    fh = await openInside(dir, path);
  } catch (error) {
    if (code(error) === 'ENOENT') return null;
    throw error;
  }
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) throw new UnsafeEfsPathError(`${path} is ${size} bytes, more than the ${maxBytes} such a file can hold: it is not read`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** The stat of the regular file `path` inside `dir` (opened as openInside does, so never a link's target), or null when absent. */
export async function statInside(dir: string, path: string): Promise<Stats | null> {
  let fh: FileHandle;
  try {
    fh = await openInside(dir, path);
  } catch (error) {
    if (code(error) === 'ENOENT') return null;
    throw error;
  }
  try {
    return await fh.stat();
  } finally {
    await fh.close();
  }
}

/** Opens `path` as openInside does when `confineTo` is set (a file on EFS), plainly (links followed) when not. */
export async function openConfined(confineTo: string | undefined, path: string, flags: number): Promise<FileHandle> {
  return confineTo === undefined ? open(path, flags, 0o600) : openInside(confineTo, path, flags);
}

/** The stat of `path` as statInside gives it when `confineTo` is set, plainly when not; null when absent. */
export async function statConfined(confineTo: string | undefined, path: string): Promise<Stats | null> {
  if (confineTo !== undefined) return statInside(confineTo, path);
  try {
    return await stat(path);
  } catch (error) {
    if (code(error) === 'ENOENT') return null;
    throw error;
  }
}
