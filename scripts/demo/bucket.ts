import { listBackups } from '../../functions/shared/adapters/s3-backups.js';
import type { Manifest } from '../../functions/shared/core/manifest.js';
import type { DemoWorld } from './world.js';

/** Prints what is in the bucket for each target and resolves to each target's newest manifest (null: no backup). */
export async function showBucket(world: DemoWorld, targets: readonly string[], say: (line: string) => void): Promise<Map<string, Manifest | null>> {
  say(`- what is in the bucket now (s3://${world.s3.bucket}/${world.keyPrefix})`);
  const newest = new Map<string, Manifest | null>();
  for (const target of targets) {
    const listings = await listBackups(world.s3.client, world.s3.bucket, world.keyPrefix, target);
    if (listings.length === 0) say(`  ${target}: nothing`);
    for (const b of listings) {
      const m = b.manifest;
      const counts = m?.counts?.tables ? `${Object.keys(m.counts.tables).length} tables` : m?.counts?.keys !== undefined ? `${m.counts.keys} keys` : '';
      say(`  ${b.key.padEnd(44)} ${String(b.size).padStart(9)} B  sha256 ${m?.sha256.slice(0, 12) ?? '?'}…  ${m?.toolVersion ?? 'no manifest'}  ${counts}`.trimEnd());
    }
    newest.set(target, listings.find((l) => l.manifest !== null)?.manifest ?? null);
  }
  return newest;
}
