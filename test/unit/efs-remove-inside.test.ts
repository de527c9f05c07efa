import { execFileSync } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeInside } from '../../functions/shared/adapters/efs-remove-inside.js';

let root: string;
let dir: string;
let other: string;
const FILES = Array.from({ length: 200 }, (_, i) => `f${i}`);

const exists = (path: string) => access(path).then(() => true, () => false);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'efs-remove-inside-'));
  dir = join(root, 'pg');
  other = join(root, 'other');
  await mkdir(join(dir, 'run', 'sub', 'deeper'), { recursive: true });
  await mkdir(other);
  // The other target's directory holds files under the names the run holds.
  for (const name of FILES) await writeFile(join(other, name), `the other target's ${name}`);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('removeInside', () => {
  it('removes a run directory with files, nested directories, a FIFO and links, and nothing the links lead to', async () => {
    await writeFile(join(dir, 'run', 'dump'), 'dump');
    await writeFile(join(dir, 'run', 'sub', 'deeper', 'log'), 'log');
    execFileSync('mkfifo', [join(dir, 'run', 'fifo')]);
    await symlink(other, join(dir, 'run', 'to-other-dir'));
    await symlink(join(other, 'f0'), join(dir, 'run', 'sub', 'to-other-file'));
    await removeInside(dir, join(dir, 'run'));
    expect(await exists(join(dir, 'run'))).toBe(false);
    expect((await readdir(other)).sort()).toEqual([...FILES].sort());
  });

  it('removes a run name that is a link as the link, not what it leads to', async () => {
    await rm(join(dir, 'run'), { recursive: true });
    await symlink(other, join(dir, 'run'));
    await removeInside(dir, join(dir, 'run'));
    expect(await exists(join(dir, 'run'))).toBe(false);
    expect(await readdir(other)).toHaveLength(FILES.length);
  });

  it('refuses a path whose directory on the way is a link', async () => {
    await symlink(other, join(dir, 'link'));
    await expect(removeInside(dir, join(dir, 'link', 'f0'))).rejects.toThrow(/not a directory|symbolic link/);
    expect(await exists(join(other, 'f0'))).toBe(true);
  });

  it('does nothing for a run that is gone, or a target directory that is', async () => {
    await removeInside(dir, join(dir, 'absent'));
    await removeInside(join(root, 'absent'), join(root, 'absent', 'run'));
    expect(await exists(join(dir, 'run'))).toBe(true);
  });

  it('deletes nothing outside when the container swaps a directory for a link while the removal runs', async () => {
    // The other target holds directories and files under the names the run holds.
    const names = Array.from({ length: 20 }, (_, i) => `d${i}`);
    const tree = async (at: string) => {
      for (const d of names) {
        await mkdir(join(at, d), { recursive: true });
        for (const f of FILES.slice(0, 5)) await writeFile(join(at, d, f), f);
      }
    };
    const sub = join(dir, 'run', 'sub');
    await tree(sub);
    await tree(join(other, 'tree'));
    // The container's move: once the first directory is gone, `sub` goes elsewhere and a link to the other target takes its name.
    let swapped = false;
    const before = (await readdir(sub)).length;
    const swapper = (async () => {
      while ((await readdir(sub)).length === before) await new Promise((r) => setImmediate(r));
      await rename(sub, join(dir, 'moved'));
      await symlink(join(other, 'tree'), sub);
      swapped = true;
    })();
    const removal = removeInside(dir, join(dir, 'run')).catch((error: unknown) => error);
    await Promise.all([swapper, removal]);
    expect(swapped).toBe(true);
    for (const d of names) expect(await readdir(join(other, 'tree', d)), d).toHaveLength(5);
  });
});
