import { linkSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupJob, buildDrillJob, buildRestoreJob } from '../../functions/shared/core/scripts/jobs.js';
import { PG_BIN } from '../../test/helpers/postgres.js';
import { runBackupJob, type JobDump } from './dump-postgres.js';
import { timedJob } from './job.js';
import type { BenchPostgres } from './pg-database.js';
import type { DrillResult } from './results.js';
import { runPlans, type Plan } from './runner.js';

/** Options of the content-check benchmark. */
export interface DrillBenchOptions {
  repeats: number;
  work: string;
  log: (line: string) => void;
  /** The product's dump of the bench database (from the dump section); made with the backup job when missing. */
  dump?: JobDump;
}

/** The hasher test of pg_content_awk, which a job without md5sum fails; replaced, the same job counts rows and digests nothing. */
const HASHER_TEST = 'if command -v md5sum >/dev/null 2>&1; then';

/** The backup job with its row digests switched off, for comparison: otherwise the very same script. */
export function countsOnly(script: string): string {
  if (!script.includes(HASHER_TEST)) throw new Error('the backup job no longer tests for md5sum as the bench expects; update scripts/bench/drill.ts');
  return script.replace(HASHER_TEST, 'if false; then');
}

/**
 * What the content check costs, side by side: the restore job alone vs the drill job (restore, then the restored
 * database re-dumped and the archive read at once, both digested) into a fresh scratch database; and the backup job
 * with its per-table row digests vs the same script with the hasher switched off (rows counted only).
 */
export async function benchDrill(db: BenchPostgres, opts: DrillBenchOptions): Promise<DrillResult> {
  let dump = opts.dump;
  if (dump === undefined) {
    opts.log('drill: making the dump with the backup job...');
    dump = (await runBackupJob(db, join(opts.work, 'drill-source'), 'bench-drill-source')).dump;
  }
  const source = dump.file;
  const env = { POSTGRES_PASSWORD: db.pg.password };
  let n = 0;
  const stage = (name: string) => {
    const runDir = join(opts.work, name);
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    linkSync(source, join(runDir, 'in.pgdump'));
    return { runDir, ctx: { runId: `bench-${name}-${++n}`, runDir, startedAt: new Date().toISOString() } };
  };
  const plan = (label: string, script: (ctx: { runId: string; runDir: string; startedAt: string }) => string, path: string[], after?: () => Promise<void>): Plan => ({
    label,
    async run() {
      const { runDir, ctx } = stage(label.replace(/\W+/g, '-'));
      const job = await timedJob(label, runDir, script(ctx), { env, path });
      rmSync(runDir, { recursive: true, force: true });
      await after?.();
      return { wallSeconds: job.wallSeconds, cpuSeconds: job.cpuSeconds, maxRssKiB: job.maxRssKiB, bytes: null };
    },
  });
  const dropInto = () => db.pg.psql('postgres', 'DROP DATABASE IF EXISTS bench_restored').then(() => undefined);
  const plans: Plan[] = [
    plan("restore job alone (into a new database)", (ctx) => buildRestoreJob(db.target, ctx, { file: 'in.pgdump', intoDatabase: 'bench_restored', overwrite: false }), [PG_BIN], dropInto),
    plan('drill job (restore + content of restored and archive)', (ctx) => buildDrillJob(db.target, ctx, { file: 'in.pgdump', scratchDatabase: 'bench_drill' }), [PG_BIN]),
    plan('backup job, rows counted only', (ctx) => countsOnly(buildBackupJob(db.target, ctx)), [PG_BIN]),
    plan('backup job with row digests', (ctx) => buildBackupJob(db.target, ctx), [PG_BIN]),
  ];
  const [restore, drill, counted, digests] = await runPlans(plans, opts.repeats, db.postmasterPid, opts.log);
  return { database: db.database, restore: restore!, drill: drill!, backupCountsOnly: counted!, backupDigests: digests! };
}
