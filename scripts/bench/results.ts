import type { Row } from './runner.js';

/** The sections `npm run bench` measures, in the order a full run measures them. */
export const SECTIONS = ['bundle', 'upload', 'redis', 'dump', 'e2e', 'restore', 'drill', 'impact'] as const;

/** One section of the benchmark. */
export type Section = (typeof SECTIONS)[number];

/** The options of one run (see options.ts for the flags). */
export interface BenchOptions {
  pgSizeMb: number;
  redisKeys: number;
  uploadSizesMiB: number[];
  repeats: number;
  /** Also back up once through invocations with a low time limit, so the upload resumes several times. */
  resumeUpload: boolean;
  jsonPath: string;
  only: Section[];
}

/** The generated PostgreSQL database the dump, e2e and restore sections share. */
export interface PgDatabase {
  bytes: number;
  pgbenchScale: number;
  jsonRows: number;
}

/** PostgreSQL dump: the product's backup job against the floor and the naive `pg_dump -Fc`. */
export interface DumpResult {
  database: PgDatabase;
  floor: Row;
  naive: Row;
  job: Row;
  /** The job's parts alone, to show what its in-stream verification costs: `-Z1 -f`, and the stream without the row count. */
  parts: Row[];
}

/** Redis dump: the product's backup job against `redis-cli --rdb`, and the product's drill of that dump. */
export interface RedisResult {
  keys: number;
  cli: Row;
  cliNoDelay: Row;
  job: Row;
  drill?: Row;
}

/** One uploader's medians at one size. */
export interface UploadRow {
  label: string;
  wallSeconds: number;
  /** Measured inside the Node uploaders (without process start and module loading); null for `aws s3 cp`. */
  transferSeconds: number | null;
  cpuSeconds: number;
  maxRssKiB: number;
  /** File bytes / process wall time, in MB/s (10^6 bytes). */
  mbPerSecond: number;
}

/** The uploaders at one file size. */
export interface UploadSize {
  sizeMiB: number;
  ours: UploadRow;
  libStorage: UploadRow;
  aws: UploadRow;
}

/** Uploader: ours (as bundled, product defaults) against `aws s3 cp` (and lib-storage) on s3rver (scripts/bench/s3rver.ts). */
export interface UploadResult {
  partSizeMiB: number;
  concurrency: number;
  awsVersion: string;
  /** A node process with the uploader's bundle loaded that uploads nothing: the RSS floor of any Node uploader. */
  nodeBaselineRssKiB: number;
  sizes: UploadSize[];
}

/** One end-to-end run: invoke → `succeeded`, with the manifest's split. */
export interface E2eRun {
  wallSeconds: number;
  /** manifest dumpEndedAt − startedAt (the container stamps whole seconds). */
  dumpSeconds: number;
  /** manifest uploadedAt − dumpEndedAt: noticing done.gz (fast-path poll), upload, sha256 check. */
  afterDumpSeconds: number;
  /** The UploadSeconds metric: the upload alone. */
  uploadSeconds: number | null;
  objectBytes: number;
}

/** One backup whose upload took several invocations, each with a low time limit. */
export interface ResumeRun {
  /** Seconds of work each invocation had before its safety margin. */
  budgetSeconds: number;
  invocations: number;
  /** Invocations that ended with the upload still going (each resumed it). */
  uploadingInvocations: number;
  wallSeconds: number;
  objectBytes: number;
  /** The object's sha256 equals the dump file's on EFS (hashed by the bench) and the manifest's. */
  identical: boolean;
}

/** End to end (the built Lambda through the harness) against the dump floor, measured round robin. */
export interface E2eResult {
  database: PgDatabase;
  floor: Row;
  /** Medians of each field over `runs`. */
  median: E2eRun;
  /** The fastest and the slowest run's wall time. */
  wallRange?: [number, number];
  runs: E2eRun[];
  /** With --resume-upload (default from 5 GB on): a backup uploaded over several short invocations. */
  resume?: ResumeRun;
}

/** Content check: the drill job vs the restore job alone; the backup job with row digests vs counting rows only. */
export interface DrillResult {
  database: PgDatabase;
  restore: Row;
  drill: Row;
  backupCountsOnly: Row;
  backupDigests: Row;
}

/** Restore: the product's restore job against `pg_restore` and `pg_restore -j 2`, each into a fresh database. */
export interface RestoreResult {
  database: PgDatabase;
  dumpBytes: number;
  job: Row;
  pgRestore: Row;
  pgRestoreJ2: Row;
}

/** pgbench under one scenario (no backup, or a backup running): medians over the repeats. */
export interface ImpactRow {
  label: string;
  /** Transactions per second that ended while the backup ran (no backup: over the whole load after its lead). */
  tps: number;
  /** 99th percentile latency of those transactions, ms. */
  p99Ms: number;
  /** How long the backup took under the load; null without a backup. */
  backupSeconds: number | null;
  /** The smallest share of a backup's run the load lasted (1: the load outlasted every backup). */
  covered: number;
  /** What the job logged about its priority. */
  note?: string;
}

/** Live-database impact: pgbench alone, during the naive dump, during the job at priority low and normal (in this order). */
export interface ImpactResult {
  clients: number;
  loadSeconds: number;
  floorSeconds: number;
  rows: ImpactRow[];
}

/** The orchestrator bundle's size and cold import time. */
export interface BundleResult {
  /** Every file of the bundle (the entry and its chunks) together. */
  bytes: number;
  /** The entry file alone. */
  entryBytes: number;
  /** How many files the bundle has. */
  files: number;
  /** Every file gzipped at level 9, together. */
  gzipBytes: number;
  importRuns: number;
  /** Median wall time of `node -e ''`. */
  nodeBaselineMs: number;
  /** Median wall time of a node process importing the bundle. */
  importMs: number;
  /** importMs − nodeBaselineMs. */
  importNetMs: number;
}

/** A target of issue 7 and whether the run met it. */
export interface TargetResult {
  id: string;
  description: string;
  /** The measured ratio (or MiB for memory); null when its section did not run. */
  measured: number | null;
  comparison: '<=' | '>=';
  limit: number;
  unit: 'x' | 'MiB' | 'MB' | 'ms' | 'invocations';
  /** null: not measured in this run. */
  met: boolean | null;
}

/** Everything one run measured: the JSON written with --json. */
export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; node: string; kernel: string };
  options: BenchOptions;
  sections: {
    bundle?: BundleResult;
    upload?: UploadResult;
    redis?: RedisResult;
    dump?: DumpResult;
    e2e?: E2eResult;
    restore?: RestoreResult;
    drill?: DrillResult;
    impact?: ImpactResult;
  };
  targets: TargetResult[];
  /** Sections that failed, with the error; the CLI exits 1 when there is any. */
  errors: Partial<Record<Section, string>>;
}
