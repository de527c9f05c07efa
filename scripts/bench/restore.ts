import { execFile } from 'node:child_process';
import { linkSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRestoreJob } from '../../functions/shared/core/scripts/restore-job.js';
import { PG_BIN } from '../../test/helpers/postgres.js';
import { runBackupJob, type JobDump } from './dump-postgres.js';
import { timedJob } from './job.js';
import type { BenchPostgres } from './pg-database.js';
import type { RestoreResult } from './results.js';
import { runPlans, type Plan } from './runner.js';
import { timed } from './timed.js';

const run = promisify(execFile);

/** Options of the restore benchmark. */
export interface RestoreBenchOptions {
  repeats: number;
  work: string;
  log: (line: string) => void;
  /** The product's dump of the bench database (from the dump section); made with the backup job when missing. */
  dump?: JobDump;
}

/**
 * Restores the product's dump into a fresh, empty database (created before and dropped after each run, untimed)
 * with the product's restore job (dash), `pg_restore` and `pg_restore -j 2`; checks the row counts of every restore.
 */
export async function benchRestore(db: BenchPostgres, opts: RestoreBenchOptions): Promise<RestoreResult> {
  let dump = opts.dump;
  if (dump === undefined) {
    opts.log('restore: making the dump with the backup job...');
    dump = (await runBackupJob(db, join(opts.work, 'restore-source'), 'bench-restore-source')).dump;
  }
  const source = dump.file;
  let n = 0;
  const fresh = async () => {
    const name = `restored_${++n}`;
    await db.pg.psql('postgres', `DROP DATABASE IF EXISTS ${name}; CREATE DATABASE ${name};`);
    // The previous restore's dirty pages are written out first, not during this one.
    await run('sync', []);
    return name;
  };
  const checkAndDrop = async (name: string) => {
    const got = await db.pg.psql(name, 'SELECT (SELECT count(*) FROM pgbench_accounts) || \' \' || (SELECT count(*) FROM docs)');
    const want = `${db.expectedRows.accounts} ${db.expectedRows.docs}`;
    await db.pg.psql('postgres', `DROP DATABASE ${name}`);
    if (got.trim() !== want) throw new Error(`the restore into ${name} holds ${got.trim()} rows (pgbench_accounts docs), expected ${want}`);
  };
  const pgRestore = (label: string, flags: string[]): Plan => ({
    label,
    async run() {
      const into = await fresh();
      const t = await timed(label, [`${PG_BIN}/pg_restore`, ...flags, '-d', into, source], { env: db.env });
      await checkAndDrop(into);
      return { ...t, bytes: null };
    },
  });
  const plans: Plan[] = [
    {
      label: "the product's restore job (dash)",
      async run() {
        const into = await fresh();
        const runDir = join(opts.work, 'restore-job');
        rmSync(runDir, { recursive: true, force: true });
        mkdirSync(runDir, { recursive: true });
        // As the orchestrator's download leaves it: the file in the run directory (a hard link, no copy).
        linkSync(source, join(runDir, 'in.pgdump'));
        const ctx = { runId: `bench-restore-${n}`, runDir, startedAt: new Date().toISOString() };
        const job = await timedJob('postgres restore job', runDir, buildRestoreJob(db.target, ctx, { file: 'in.pgdump', intoDatabase: into, overwrite: false }), {
          env: { POSTGRES_PASSWORD: db.pg.password },
          path: [PG_BIN],
        });
        rmSync(runDir, { recursive: true, force: true });
        await checkAndDrop(into);
        return { wallSeconds: job.wallSeconds, cpuSeconds: job.cpuSeconds, maxRssKiB: job.maxRssKiB, bytes: null };
      },
    },
    pgRestore('`pg_restore -d <fresh db>`', []),
    pgRestore('`pg_restore -j 2 -d <fresh db>`', ['-j', '2']),
  ];
  const [job, single, parallel] = await runPlans(plans, opts.repeats, db.postmasterPid, opts.log);
  return { database: db.database, dumpBytes: statSync(source).size, job: job!, pgRestore: single!, pgRestoreJ2: parallel! };
}
