/**
 * `npm run bench [-- --pg-size-mb 1000 --redis-keys 1000000 --upload-sizes-mib 256,1024 --repeats 3 --json FILE --only …]`:
 * the product's PostgreSQL backup job vs the `pg_dump` floor, the Redis job vs `redis-cli --rdb`, the uploader vs
 * `aws s3 cp` at two sizes, end to end through the built Lambda, restore vs `pg_restore`, and the Lambda bundle's size
 * and cold import, all in one run (scripts/bench/run.ts). Prints Markdown tables with the targets of issue 7 to
 * stdout (progress to stderr) and writes the results as JSON. The machines are noisy: read the ratios within one run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stopAll } from './bench/cleanup.js';
import { parseBenchArgs, USAGE, UsageError } from './bench/options.js';
import { formatReport, toJson } from './bench/report.js';
import { runBench } from './bench/run.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

// The SDK's multi-line notice that it will need Node 22 would be repeated in the progress; other warnings still show.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!`${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning')) log(`warning: ${warning.name}: ${warning.message}`);
});

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const results = await runBench(opts, log);
  await mkdir(dirname(opts.jsonPath), { recursive: true });
  await writeFile(opts.jsonPath, toJson(results));
  process.stdout.write(`\n${formatReport(results)}`);
  log(`results written to ${opts.jsonPath}`);
  const failed = Object.entries(results.errors);
  for (const [section, message] of failed) log(`error: the ${section} section failed: ${message}`);
  return failed.length > 0 ? 1 : 0;
}

let interrupted = false;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping the servers and removing the files...`);
    void stopAll().finally(() => process.exit(code));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // After an interrupt the run fails on its stopped servers; the signal handler exits.
    if (interrupted) return;
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
