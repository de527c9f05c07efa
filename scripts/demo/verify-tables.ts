import { errorMessage } from '../../functions/shared/errors.js';
import { tableDifferences } from './compare.js';
import { restoreCommand } from './restore-cli.js';
import type { Verdict } from './summary-table.js';
import type { DemoWorld } from './world.js';

/**
 * Verifying a SQL target's backup (PostgreSQL, MariaDB): restore it with the restore CLI into a new database on the
 * same server with `--verify` (the product's content check, as a drill makes it: every table's row digest restored =
 * archive = dump time), then compare every table's checksum with the live database too.
 */

/** A SQL target to verify and how to read its tables' checksums. */
export interface TablesTarget {
  target: string;
  database: string;
  into: string;
  /** Per-table checksums of a database (table name → digest of its rows in a fixed order). */
  checksums(database: string): Promise<Record<string, string>>;
}

/** Restores into `into` and compares; every failure (the restore, a difference) is a `no` verdict naming it. */
export async function verifyTablesRestore(world: DemoWorld, t: TablesTarget, say: (line: string) => void): Promise<Verdict> {
  try {
    const restored = await restoreCommand(world, ['--target', t.target, '--into', t.into, '--verify'], say);
    if (restored.code !== 0) return { verified: 'no', why: `the restore into ${t.into} failed (exit ${restored.code})` };
    const [live, copy] = await Promise.all([t.checksums(t.database), t.checksums(t.into)]);
    const problems = tableDifferences(live, copy);
    say(`  ${Object.keys(live).length} tables of ${t.into} compared with ${t.database}: ${problems.length === 0 ? 'identical' : `DIFFERENT: ${problems.join('; ')}`}`);
    if (problems.length > 0) return { verified: 'no', why: problems.slice(0, 2).join('; ') };
    const verified = /verified: (.*)$/m.exec(restored.stdout)?.[1];
    return { verified: 'yes', how: `restored into ${t.into}, ${Object.keys(live).length} tables identical${verified ? `; ${verified}` : ''}` };
  } catch (error) {
    return { verified: 'no', why: errorMessage(error) };
  }
}
