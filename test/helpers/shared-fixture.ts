import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fixture directory whose content is fully described by `key`, shared by every test process: built
 * once in a scratch directory and renamed into place, so concurrent workers never see it half-written
 * and repeated runs leave one copy instead of one per test file. A changed `key` gives a new directory.
 */
export function sharedFixtureDir(name: string, key: string, populate: (dir: string) => void): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `ecs-db-backup-${name}-${hash}`);
  if (existsSync(dir)) return dir;
  const scratch = mkdtempSync(`${dir}.tmp-`);
  try {
    populate(scratch);
    renameSync(scratch, dir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    // another worker won the rename: its copy has the same content
    if (!existsSync(dir)) throw error;
  }
  return dir;
}
