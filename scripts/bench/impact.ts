import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PG_BIN } from '../../test/helpers/postgres.js';
import { runBackupJob } from './dump-postgres.js';
import { parsePgbenchLog, windowStats } from './load-stats.js';
import { BENCH_DB, type BenchPostgres } from './pg-database.js';
import type { ImpactResult, ImpactRow } from './results.js';
import { median, timed } from './timed.js';

/** pgbench clients (and threads): one per core of the development machine, the load a small production database sees at its peak. */
export const PGBENCH_CLIENTS = 2;
/** Seconds of load before a backup starts, so that every scenario measures a warmed-up load. */
const LEAD_SECONDS = 2;

/** Options of the live-database impact benchmark. */
export interface ImpactBenchOptions {
  repeats: number;
  work: string;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Date.now() / 1000;

function pgbench(db: BenchPostgres, seconds: number, dir: string): Promise<void> {
  const args = ['-n', '-c', String(PGBENCH_CLIENTS), '-j', String(PGBENCH_CLIENTS), '-T', String(seconds), '-l', `--log-prefix=${join(dir, 'tx')}`, BENCH_DB];
  return new Promise((resolve, reject) => {
    const child = spawn(`${PG_BIN}/pgbench`, args, { env: db.env, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pgbench failed (exit ${code}): ${stderr.slice(-1000)}`))));
  });
}

/** A backup to run under load: resolves when it has finished; returns a line of its log worth showing, if any. */
type Backup = () => Promise<string | undefined>;

interface Scenario {
  label: string;
  backup: Backup | null;
}

interface ScenarioRun {
  tps: number;
  p99Ms: number;
  backupSeconds: number | null;
  covered: number;
  note?: string;
}

/**
 * One scenario: pgbench for `loadSeconds`; after LEAD_SECONDS the backup (if any) runs. TPS and p99 latency are those of
 * the transactions that ended while the backup ran (without a backup: from LEAD_SECONDS to the end); `covered` is
 * the share of the backup's run that the load lasted.
 */
async function underLoad(db: BenchPostgres, loadSeconds: number, scenario: Scenario, dir: string): Promise<ScenarioRun> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = now();
  const load = pgbench(db, loadSeconds, dir).then(() => now());
  await sleep(LEAD_SECONDS * 1000);
  const from = scenario.backup ? now() : started + LEAD_SECONDS;
  const note = scenario.backup ? await scenario.backup() : undefined;
  const backupEnded = now();
  const loadEnded = await load;
  const to = scenario.backup ? backupEnded : loadEnded;
  const transactions = readdirSync(dir).filter((f) => f.startsWith('tx')).flatMap((f) => parsePgbenchLog(readFileSync(join(dir, f), 'utf8')));
  const stats = windowStats(transactions, from, Math.min(to, loadEnded));
  rmSync(dir, { recursive: true, force: true });
  return {
    tps: stats.tps,
    p99Ms: stats.p99Ms,
    backupSeconds: scenario.backup ? backupEnded - from : null,
    covered: scenario.backup ? Math.min(1, (loadEnded - from) / (backupEnded - from)) : 1,
    ...(note === undefined ? {} : { note }),
  };
}

/**
 * How much a backup slows the live database, on the same cores: pgbench (TPC-B-like, PGBENCH_CLIENTS clients) alone,
 * during the naive `pg_dump -Fc`, during the product's backup job at its default priority (low) and at `normal`;
 * round robin, every other round backwards, medians. The load runs long enough for the slowest backup
 * (5× the floor's time, measured first, plus the lead).
 */
export async function benchImpact(db: BenchPostgres, opts: ImpactBenchOptions): Promise<ImpactResult> {
  const floor = await timed('pg_dump floor', ['bash', '-o', 'pipefail', '-c', `${PG_BIN}/pg_dump -Fc -Z0 > /dev/null`], { env: db.env });
  const loadSeconds = Math.max(4, Math.ceil(5 * floor.wallSeconds) + LEAD_SECONDS);
  opts.log(`impact: floor ${floor.wallSeconds.toFixed(2)} s; pgbench -c ${PGBENCH_CLIENTS} for ${loadSeconds} s per scenario`);
  const naiveFile = join(opts.work, 'impact-naive.pgdump');
  let n = 0;
  const job = (priority: 'low' | 'normal'): Backup => async () => {
    const runDir = join(opts.work, `impact-job-${priority}`);
    await runBackupJob(db, runDir, `bench-impact-${++n}`, { ...db.target, priority });
    const log = readFileSync(join(runDir, 'log'), 'utf8');
    rmSync(runDir, { recursive: true, force: true });
    return log.split('\n').filter((l) => /priority (low|normal)|server session of pg_dump/.test(l)).map((l) => l.replace(/^\S+ /, '')).join('; ');
  };
  const scenarios: Scenario[] = [
    { label: 'no backup', backup: null },
    {
      label: '`pg_dump -Fc` (naive)',
      backup: async () => {
        await timed('pg_dump -Fc', [`${PG_BIN}/pg_dump`, '-Fc', '-f', naiveFile], { env: db.env });
        rmSync(naiveFile, { force: true });
        return undefined;
      },
    },
    { label: "the product's backup job, priority low (the default)", backup: job('low') },
    { label: "the product's backup job, priority normal", backup: job('normal') },
  ];
  const runs = scenarios.map(() => [] as ScenarioRun[]);
  for (let round = 1; round <= opts.repeats; round++) {
    const order = scenarios.map((_, k) => (round % 2 === 1 ? k : scenarios.length - 1 - k));
    for (const i of order) {
      const r = await underLoad(db, loadSeconds, scenarios[i]!, join(opts.work, 'impact-load'));
      runs[i]!.push(r);
      const during = r.backupSeconds === null ? '' : ` during a ${r.backupSeconds.toFixed(1)} s backup${r.covered < 1 ? ` (load covered ${(r.covered * 100).toFixed(0)}% of it)` : ''}`;
      opts.log(`  [${round}/${opts.repeats}] ${scenarios[i]!.label}: ${r.tps.toFixed(0)} TPS, p99 ${r.p99Ms.toFixed(1)} ms${during}`);
    }
  }
  const rows: ImpactRow[] = scenarios.map((s, i) => {
    const r = runs[i]!;
    const seconds = r.map((x) => x.backupSeconds).filter((x): x is number => x !== null);
    return {
      label: s.label,
      tps: median(r.map((x) => x.tps)),
      p99Ms: median(r.map((x) => x.p99Ms)),
      backupSeconds: seconds.length > 0 ? median(seconds) : null,
      covered: Math.min(...r.map((x) => x.covered)),
      ...(r[0]?.note ? { note: r[0].note } : {}),
    };
  });
  return { clients: PGBENCH_CLIENTS, loadSeconds, floorSeconds: floor.wallSeconds, rows };
}
