import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodInside, CREATE_NO_FOLLOW, openInside, readInside, statInside } from '../../functions/shared/adapters/efs-no-follow.js';

let root: string;
let dir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'efs-no-follow-'));
  dir = join(root, 'pg');
  await mkdir(join(dir, 'run'), { recursive: true });
  await mkdir(join(root, 'other'));
  await writeFile(join(root, 'other', 'dump'), 'the other target\'s dump');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readInside', () => {
  it('reads a regular file in the directory', async () => {
    await writeFile(join(dir, 'run', 'done.gz'), 'marker');
    expect((await readInside(dir, join(dir, 'run', 'done.gz'), 100))?.toString()).toBe('marker');
  });

  it('answers null for a missing file and a missing directory', async () => {
    expect(await readInside(dir, join(dir, 'run', 'nothing'), 100)).toBeNull();
    expect(await readInside(join(root, 'absent'), join(root, 'absent', 'x'), 100)).toBeNull();
  });

  it.each([
    ['a link to /proc/self/environ', '/proc/self/environ'],
    ['a link to another target\'s file', '../../other/dump'],
    ['a dangling link', '../nowhere'],
  ])('refuses %s', async (_name, to) => {
    await symlink(to, join(dir, 'run', 'done.gz'));
    await expect(readInside(dir, join(dir, 'run', 'done.gz'), 1 << 20)).rejects.toThrow(/is a symbolic link: links on the backup EFS are not followed/);
  });

  it('refuses a path through a linked directory, even one that stays on the same file system', async () => {
    await symlink(join(root, 'other'), join(dir, 'linked'));
    await expect(readInside(dir, join(dir, 'linked', 'dump'), 100)).rejects.toThrow(/leads to .*other\/dump: a directory on the way is a symbolic link/);
  });

  it('refuses a path outside the directory', async () => {
    await expect(readInside(dir, join(dir, '..', 'other', 'dump'), 100)).rejects.toThrow(/is not inside .*pg: the orchestrator reads a target's files only in its own directory/);
    await expect(readInside(dir, dir, 100)).rejects.toThrow(/is not inside/);
  });

  it('refuses a directory that is itself a link', async () => {
    await symlink(join(root, 'other'), join(root, 'linked-target'));
    await expect(readInside(join(root, 'linked-target'), join(root, 'linked-target', 'dump'), 100)).rejects.toThrow(/is not a directory \(a symbolic link or a file\)/);
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    execFileSync('mkfifo', [join(dir, 'run', 'done.gz')]);
    await expect(readInside(dir, join(dir, 'run', 'done.gz'), 100)).rejects.toThrow(/not a regular file/);
  });

  it('refuses a file above the size limit', async () => {
    await writeFile(join(dir, 'run', 'big'), Buffer.alloc(101));
    await expect(readInside(dir, join(dir, 'run', 'big'), 100)).rejects.toThrow(/is 101 bytes, more than the 100/);
  });
});

describe('statInside', () => {
  it('gives the size of a regular file and not of a link\'s target', async () => {
    await writeFile(join(dir, 'run', 'dump'), 'abc');
    expect((await statInside(dir, join(dir, 'run', 'dump')))?.size).toBe(3);
    await symlink(join(root, 'other', 'dump'), join(dir, 'run', 'linked'));
    await expect(statInside(dir, join(dir, 'run', 'linked'))).rejects.toThrow(/symbolic link/);
  });
});

describe('openInside for writing', () => {
  it('never creates a file through a dangling link', async () => {
    await symlink(join(root, 'other', 'planted'), join(dir, 'run', 'upload.json'));
    await expect(openInside(dir, join(dir, 'run', 'upload.json'), CREATE_NO_FOLLOW)).rejects.toThrow();
    await expect(readFile(join(root, 'other', 'planted'))).rejects.toThrow(/ENOENT/);
  });
});

describe('chmodInside', () => {
  it('sets the mode of a directory and refuses a link in its place', async () => {
    await chmodInside(dir, join(dir, 'run'), 0o777, 'directory');
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o777);
    await symlink(join(root, 'other'), join(dir, 'linked'));
    await expect(chmodInside(dir, join(dir, 'linked'), 0o777, 'directory')).rejects.toThrow(/not a directory \(a symbolic link is not followed\)/);
    expect((await stat(join(root, 'other'))).mode & 0o777).not.toBe(0o777);
  });
});
