/**
 * `npm run bench [-- --suite upload] [--size-mib 512 --part-mib 16 --concurrency 4]`: our S3 uploader vs lib-storage vs
 * `aws s3 cp` on a local s3rver (scripts/bench/upload.ts).
 * `npm run bench -- --suite dump [--size-mb 300 --keys 1000000 --repeats 3]`: pg_dump options vs the project's
 * PostgreSQL backup job on a throwaway PostgreSQL 15, and the Redis backup job vs `redis-cli --rdb` (scripts/bench/dump-*.ts).
 * The machines are noisy: read the ratios within one run, not the absolute numbers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopAll, withCleanup } from './bench/cleanup.js';
import { benchPostgres } from './bench/dump-postgres.js';
import { benchRedis } from './bench/dump-redis.js';
import { benchUpload, runUploadChild } from './bench/upload.js';

const USAGE = `usage: npm run bench -- [--suite upload] [--size-mib 512] [--part-mib 16] [--concurrency 4]
       npm run bench -- --suite dump [--size-mb 300] [--keys 1000000] [--repeats 3]`;
const SUITE_OPTIONS = { upload: ['size-mib', 'part-mib', 'concurrency'], dump: ['size-mb', 'keys', 'repeats'] } as const;

const log = (line: string) => process.stderr.write(`${line}\n`);

class UsageError extends Error {}

function positive(values: Record<string, string | undefined>, name: string, fallback: number, min = 1): number {
  const n = Number(values[name] ?? fallback);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return n;
}

async function dump(values: Record<string, string | undefined>): Promise<string> {
  const sizeMb = positive(values, 'size-mb', 300, 16);
  const keys = positive(values, 'keys', 1_000_000);
  const repeats = positive(values, 'repeats', 3);
  const work = await mkdtemp(join(tmpdir(), 'bench-dump-'));
  return withCleanup(() => rm(work, { recursive: true, force: true }), async () => {
    const pg = await benchPostgres({ sizeMb, repeats, work, log });
    const redis = await benchRedis({ keys, repeats, work, log });
    return `\nDump suite, ${cpus().length} CPUs, ${new Date().toISOString()}. Client CPU: the command and its children (/usr/bin/time -v); ` +
      `server CPU: the server process and its backends/forks (/proc), during the command.\n\n${pg}\n${redis}`;
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'child') {
    await runUploadChild(argv.slice(1));
    return 0;
  }
  const options = Object.fromEntries(
    ['suite', ...SUITE_OPTIONS.upload, ...SUITE_OPTIONS.dump].map((name) => [name, { type: 'string' as const }]),
  );
  try {
    const { values } = parseArgs({ args: argv, options });
    const suite = values.suite ?? 'upload';
    if (suite !== 'upload' && suite !== 'dump') throw new UsageError(`--suite must be upload or dump, not ${suite}`);
    const foreign = Object.keys(values).filter((k) => k !== 'suite' && !(SUITE_OPTIONS[suite] as readonly string[]).includes(k));
    if (foreign.length > 0) throw new UsageError(`--${foreign.join(', --')} does not apply to the ${suite} suite`);
    const report =
      suite === 'dump'
        ? await dump(values)
        : await benchUpload({
            sizeMiB: positive(values, 'size-mib', 512),
            partMiB: positive(values, 'part-mib', 16, 5),
            concurrency: positive(values, 'concurrency', 4),
            log,
          });
    process.stdout.write(`\n${report}`);
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError && 'code' in error)) throw error;
    process.stderr.write(`error: ${error.message}\n${USAGE}\n`);
    return 2;
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping the servers and removing the files...`);
    void stopAll().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // After an interrupt the suite fails on its stopped server; the signal handler exits.
    if (interrupted) return;
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
