import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Target } from '../../functions/shared/config/schema.js';
import { CHUNK_BYTES } from '../../functions/shared/core/marker.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { HASH_FUNCTIONS } from '../../functions/shared/core/scripts/common.js';
import { PG_BIN } from '../../test/helpers/postgres.js';
import { countsOnly } from './drill.js';
import { timedJob } from './job.js';
import type { BenchPostgres } from './pg-database.js';
import type { DumpResult } from './results.js';
import { runPlans, type Plan, type Row } from './runner.js';
import { timed } from './timed.js';

/** The job's hash functions for a bash script (the job runs them under dash or busybox sh; they are POSIX). */
const hashFunctions = `CHUNK_BYTES=${CHUNK_BYTES}\nlog() { printf '%s\\n' "$*" >&2; }\n${HASH_FUNCTIONS}`;
/** A finished dump in the work directory, hashed by the rows of what promote does after the dump for the other engines. */
const HASHED_DUMP = 'hashed.pgdump';

/**
 * What promote costs the engines that do not hash while they dump (redis, mysql, mongodb): one read of the finished
 * file, before with `sha256sum`, now with `hash_file` (the chunk list too).
 */
function finishedDumpPlans(work: string, functions: string): Plan[] {
  const dir = join(work, 'hash-rows');
  const read = (label: string, command: string): Plan => ({
    label,
    async run() {
      mkdirSync(dir, { recursive: true });
      const t = await timed(label, ['dash', '-c', `${functions}\n${command} >/dev/null`], { cwd: dir });
      rmSync(dir, { recursive: true, force: true });
      return { ...t, bytes: statSync(join(work, HASHED_DUMP)).size };
    },
  });
  return [
    read('promote of a finished dump: `sha256sum file` (before)', `sha256sum ${join(work, HASHED_DUMP)}`),
    read('promote of a finished dump: `hash_file file` (now: sha256 and chunk list side by side)', `hash_file ${join(work, HASHED_DUMP)}`),
  ];
}

/** The compression choice of the postgres job, replaced by none: otherwise the very same script. */
const COMPRESS_CHOICE = 'then COMPRESS=zstd; else COMPRESS=1; fi';

function uncompressed(script: string): string {
  if (!script.includes(COMPRESS_CHOICE)) throw new Error('the postgres job no longer chooses its compression as the bench expects; update scripts/bench/dump-postgres.ts');
  return script.replace(COMPRESS_CHOICE, 'then COMPRESS=0; else COMPRESS=0; fi');
}

/** Options of the PostgreSQL dump benchmark. */
export interface DumpBenchOptions {
  repeats: number;
  /** Plans measured in the same round robin (end to end), whose rows come back in `extra`. */
  extra?: readonly Plan[];
  /** Only the floor (and the extra plans): the dump section itself was not asked for. */
  floorOnly?: boolean;
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

/** Runs the product's backup job (buildBackupJob, with dash; the bench target unless told) into runDir; checks its row count of pgbench_accounts when it reports counts. */
export async function runBackupJob(db: BenchPostgres, runDir: string, runId: string, target: Target = db.target, variant: (script: string) => string = (s) => s) {
  rmSync(runDir, { recursive: true, force: true });
  const job = await timedJob('postgres backup job', runDir, variant(buildBackupJob(target, { runId, runDir, startedAt: new Date().toISOString() })), {
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
export async function benchDump(db: BenchPostgres, opts: DumpBenchOptions): Promise<{ result: DumpResult; jobDump: JobDump | undefined; extra: Row[] }> {
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
  const variant = (label: string, target: Target, change: (script: string) => string): Plan => ({
    label,
    async run() {
      const job = await runBackupJob(db, join(opts.work, 'job-variant'), `bench-variant-${++round}`, target, change);
      rmSync(join(opts.work, 'job-variant'), { recursive: true, force: true });
      return { wallSeconds: job.wallSeconds, cpuSeconds: job.cpuSeconds, maxRssKiB: job.maxRssKiB, bytes: job.dump.bytes };
    },
  });
  plans.push(
    variant("the job at priority normal (no renice of itself or of its server session)", { ...db.target, priority: 'normal' }, (s) => s),
    variant('the job without row digests (rows counted only)', db.target, countsOnly),
    variant('the job uncompressed (`-Z 0`: what compression costs)', db.target, uncompressed),
  );
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
  const stream = (consumer: string) =>
    `d=$(mktemp -d) && mkfifo $d/f && { ${consumer} <$d/f >/dev/null & } && pg_dump -Fc -Z1 | tee ${partFile} $d/f >/dev/null && wait && rm -r $d`;
  plans.push(
    part('job part: `pg_dump -Fc -Z1 -f file` (its compression alone)', `pg_dump -Fc -Z1 -f ${partFile}`),
    part('job part: `pg_dump -Fc -Z1 | tee file fifo` + `sha256sum` (its stream without decompressing and counting rows)', stream('sha256sum')),
    part('job part: the same stream + `hash_stream` (sha256 and every 8 MiB chunk\'s, as the job hashes now)', `${hashFunctions}\n${stream('(cd $d && hash_stream)')}`),
    ...finishedDumpPlans(opts.work, hashFunctions),
  );
  const measured = [...(opts.floorOnly ? plans.slice(0, 1) : plans), ...(opts.extra ?? [])];
  opts.log('dump: warming the page cache with one untimed floor run...');
  await plans[0]!.run();
  if (!opts.floorOnly) await timed('pg_dump for the hash rows', ['bash', '-o', 'pipefail', '-c', `pg_dump -Fc -Z1 -f ${join(opts.work, HASHED_DUMP)}`], { env: { ...db.env, PATH: `${PG_BIN}:/usr/bin:/bin` } });
  const rows = await runPlans(measured, opts.repeats, db.postmasterPid, opts.log);
  rmSync(join(opts.work, HASHED_DUMP), { force: true });
  const extra = rows.splice(rows.length - (opts.extra?.length ?? 0));
  const [floor, naive, job, ...parts] = rows;
  return { result: { database: db.database, floor: floor!, naive: naive ?? floor!, job: job ?? floor!, parts }, jobDump: last, extra };
}
