import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { PG_COPY_MARKS, PG_COUNT_AWK } from '../../functions/shared/core/scripts/engines/postgres.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../../test/helpers/postgres.js';
import { withCleanup } from './cleanup.js';
import { timedJob } from './job.js';
import { rowsTable, runPlans, type Plan } from './runner.js';
import { timed } from './timed.js';

const run = promisify(execFile);
const MB = 1e6;
const DB = 'bench';
/** pgbench's database grows by about 15 MB per scale unit (100 000 accounts, with indexes). */
const PGBENCH_MB_PER_SCALE = 15;
/** One row of the jsonb table takes about 330 bytes on disk. */
const JSONB_ROW_BYTES = 330;

/** Options of the PostgreSQL dump benchmark. */
export interface PostgresBenchOptions {
  sizeMb: number;
  repeats: number;
  work: string;
  log: (line: string) => void;
}

function fillSql(rows: number): string {
  return `CREATE TABLE docs (id bigint PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO docs SELECT g, jsonb_build_object('id', g, 'name', 'user ' || g, 'email', 'user' || g || '@example.com',
  'tags', jsonb_build_array('t' || g % 10, 't' || g % 7, 't' || g % 3), 'score', round((random() * 1000)::numeric, 2),
  'active', g % 2 = 0, 'note', md5(g::text) || md5((g * 7)::text), 'address', jsonb_build_object('city', 'city ' || g % 500, 'zip', lpad((g % 99999)::text, 5, '0')))
FROM generate_series(1, ${rows}) g;
VACUUM ANALYZE docs;
CHECKPOINT;`;
}

/** Starts PostgreSQL 15, fills a database of about sizeMb (80% pgbench, 20% jsonb) and measures the dump options side by side. */
export async function benchPostgres(opts: PostgresBenchOptions): Promise<string> {
  const pg = await startPostgres();
  return withCleanup(() => pg.stop(), () => measure(pg, opts).catch((error: unknown) => {
    let tail = '';
    try {
      tail = readFileSync(join(pg.dataDir, 'server.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      // no log to show
    }
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nlast lines of the PostgreSQL server log:\n${tail}`);
  }));
}

async function measure(pg: PostgresServer, opts: PostgresBenchOptions): Promise<string> {
  const env = { ...pg.env, PGDATABASE: DB };
  const scale = Math.max(1, Math.round((opts.sizeMb * 0.8) / PGBENCH_MB_PER_SCALE));
  const jsonRows = Math.round((opts.sizeMb * 0.2 * MB) / JSONB_ROW_BYTES);
  opts.log(`postgres on port ${pg.port}: pgbench -i -s ${scale} and ${jsonRows} jsonb rows...`);
  await pg.createDatabase(DB);
  await run(`${PG_BIN}/pgbench`, ['-i', '-q', '-s', String(scale), DB], { env });
  await pg.psql(DB, fillSql(jsonRows));
  const dbBytes = Number(await pg.psql(DB, `SELECT pg_database_size('${DB}')`));
  const postmaster = Number(readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

  const out = (name: string) => join(opts.work, name);
  const sizeOf = (file: string) => {
    const bytes = statSync(file).size;
    rmSync(file, { force: true });
    return bytes;
  };
  // -f, as the job writes: pg_dump fsyncs the file at the end.
  const pgDump = (file: string, ...flags: string[]): Plan => ({
    label: `\`pg_dump -Fc${flags.map((f) => ` ${f}`).join('')}\``,
    async run() {
      const t = await timed('pg_dump', [`${PG_BIN}/pg_dump`, '-Fc', ...flags, '-f', file], { env });
      return { ...t, bytes: sizeOf(file) };
    },
  });
  const bash = (label: string, script: string, file: string | null): Plan => ({
    label,
    async run() {
      const t = await timed(label, ['bash', '-o', 'pipefail', '-c', script], { env: { ...env, PATH: `${PG_BIN}:/usr/bin:/bin`, COUNT_AWK: PG_COUNT_AWK } });
      return { ...t, bytes: file === null ? null : sizeOf(file) };
    },
  });
  const target = targetSchema.parse({
    name: 'bench-pg', engine: 'postgres', cluster: 'c', service: 's', container: 'postgres', database: DB, user: 'postgres',
    passwordEnv: 'POSTGRES_PASSWORD', port: pg.port, backupDir: '/backup',
  });
  // The job's dump of the current round stays until the rows that read it have run.
  const jobDump = out('job/dump.pgdump');
  let jobRound = 0;
  const plans: Plan[] = [
    bash('`pg_dump -Fc -Z0 > /dev/null` (floor)', 'pg_dump -Fc -Z0 > /dev/null', null),
    pgDump(out('default.pgdump')),
    pgDump(out('z1.pgdump'), '-Z1'),
    bash('`pg_dump -Fc -Z0 | zstd -3 -T2`', `pg_dump -Fc -Z0 | zstd -q -3 -T2 -o ${out('z0.pgdump.zst')}`, out('z0.pgdump.zst')),
    {
      label: "**the project's backup job** (dash: pg_dump -Fc -Z1, pg_restore --list, counts from the dump, sha256)",
      async run() {
        const runDir = out('job');
        rmSync(runDir, { recursive: true, force: true });
        const job = await timedJob('postgres backup job', runDir, buildBackupJob(target, { runId: `bench-${++jobRound}`, runDir, startedAt: new Date().toISOString() }), {
          env: { POSTGRES_PASSWORD: pg.password },
          path: [PG_BIN],
        });
        const accounts = job.marker.counts?.tables?.['public.pgbench_accounts'];
        if (accounts !== scale * 100_000) throw new Error(`the job counted ${accounts} pgbench_accounts rows, expected ${scale * 100_000}`);
        return { ...job, bytes: job.marker.bytes };
      },
    },
    bash('job part: `pg_restore --list` of its dump', `pg_restore --list ${jobDump} > /dev/null`, null),
    bash(
      'job part: counts (`pg_restore -a -f - | grep -n -F | awk`)',
      `pg_restore -a -f - ${jobDump} | LC_ALL=C grep -n -F -e '${PG_COPY_MARKS[0]}' -e '${PG_COPY_MARKS[1]}' | LC_ALL=C awk "$COUNT_AWK" > /dev/null`,
      null,
    ),
    bash('job part: `sha256sum` of its dump', `sha256sum ${jobDump} > /dev/null`, null),
  ];
  opts.log('warming the page cache with one untimed floor run...');
  await plans[0]!.run();
  const rows = await runPlans(plans, opts.repeats, postmaster, opts.log);
  return (
    `### PostgreSQL 15: database of ${(dbBytes / MB).toFixed(0)} MB (pgbench -s ${scale} + ${jsonRows} jsonb rows), median of ${opts.repeats}\n\n` +
    `${rowsTable(rows, 'floor')}\n`
  );
}
