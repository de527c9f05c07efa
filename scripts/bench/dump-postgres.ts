import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { PG_BIN } from '../../test/helpers/postgres.js';
import { timedJob } from './job.js';
import type { BenchPostgres } from './pg-database.js';
import type { DumpResult } from './results.js';
import { runPlans, type Plan } from './runner.js';
import { timed } from './timed.js';

/** Options of the PostgreSQL dump benchmark. */
export interface DumpBenchOptions {
  repeats: number;
  work: string;
  log: (line: string) => void;
}

/** The floor: pg_dump's own work, uncompressed, written nowhere. */
export function floorPlan(db: BenchPostgres): Plan {
  return {
    label: '`pg_dump -Fc -Z0 > /dev/null` (floor)',
    async run() {
      const t = await timed('pg_dump floor', ['bash', '-o', 'pipefail', '-c', `${PG_BIN}/pg_dump -Fc -Z0 > /dev/null`], { env: db.env });
      return { ...t, bytes: null };
    },
  };
}

/** A finished run of the product's backup job: where its dump is and the job's timing. */
export interface JobDump {
  file: string;
  bytes: number;
}

/** Runs the product's backup job (buildBackupJob, with dash) into runDir; checks its row count of pgbench_accounts when it reports counts. */
export async function runBackupJob(db: BenchPostgres, runDir: string, runId: string) {
  rmSync(runDir, { recursive: true, force: true });
  const job = await timedJob('postgres backup job', runDir, buildBackupJob(db.target, { runId, runDir, startedAt: new Date().toISOString() }), {
    env: { POSTGRES_PASSWORD: db.pg.password },
    path: [PG_BIN],
  });
  const accounts = job.marker.counts?.tables?.['public.pgbench_accounts'];
  if (accounts !== undefined && accounts !== db.expectedRows.accounts) {
    throw new Error(`the backup job counted ${accounts} pgbench_accounts rows, expected ${db.expectedRows.accounts}`);
  }
  const file = join(runDir, job.marker.file ?? 'dump.pgdump');
  return { ...job, dump: { file, bytes: statSync(file).size } satisfies JobDump };
}

/**
 * Measures, round robin, the floor, the naive `pg_dump -Fc` (gzip level 6) and the product's backup job as the
 * container runs it. The last job's dump stays in `work/job` for the restore section.
 */
export async function benchDump(db: BenchPostgres, opts: DumpBenchOptions): Promise<{ result: DumpResult; jobDump: JobDump }> {
  const naiveFile = join(opts.work, 'naive.pgdump');
  let round = 0;
  let last: JobDump | undefined;
  const plans: Plan[] = [
    floorPlan(db),
    {
      // -f, as the job writes: pg_dump fsyncs the file at the end.
      label: '`pg_dump -Fc` (naive: gzip level 6)',
      async run() {
        const t = await timed('pg_dump -Fc', [`${PG_BIN}/pg_dump`, '-Fc', '-f', naiveFile], { env: db.env });
        const bytes = statSync(naiveFile).size;
        rmSync(naiveFile, { force: true });
        return { ...t, bytes };
      },
    },
    {
      label: "the product's backup job (dash)",
      async run() {
        const job = await runBackupJob(db, join(opts.work, 'job'), `bench-${++round}`);
        last = job.dump;
        return { wallSeconds: job.wallSeconds, cpuSeconds: job.cpuSeconds, maxRssKiB: job.maxRssKiB, bytes: job.dump.bytes };
      },
    },
  ];
  const partFile = join(opts.work, 'part.pgdump');
  const part = (label: string, script: string): Plan => ({
    label,
    async run() {
      const t = await timed(label, ['bash', '-o', 'pipefail', '-c', script], { env: { ...db.env, PATH: `${PG_BIN}:/usr/bin:/bin` } });
      const bytes = statSync(partFile).size;
      rmSync(partFile, { force: true });
      return { ...t, bytes };
    },
  });
  plans.push(
    part('job part: `pg_dump -Fc -Z1 -f file` (its compression alone)', `pg_dump -Fc -Z1 -f ${partFile}`),
    part(
      'job part: `pg_dump -Fc -Z1 | tee file fifo` + `sha256sum` (its stream without decompressing and counting rows)',
      `d=$(mktemp -d) && mkfifo $d/f && { sha256sum <$d/f >/dev/null & } && pg_dump -Fc -Z1 | tee ${partFile} $d/f >/dev/null && wait && rm -r $d`,
    ),
  );
  opts.log('dump: warming the page cache with one untimed floor run...');
  await plans[0]!.run();
  const [floor, naive, job, ...parts] = await runPlans(plans, opts.repeats, db.postmasterPid, opts.log);
  return { result: { database: db.database, floor: floor!, naive: naive!, job: job!, parts }, jobDump: last! };
}
