import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchBundle } from './bundle.js';
import { withCleanup } from './cleanup.js';
import { benchDump, type JobDump } from './dump-postgres.js';
import { benchRedis } from './dump-redis.js';
import { withE2ePlan, type E2ePlan } from './e2e.js';
import { withBenchPostgres } from './pg-database.js';
import { benchRestore } from './restore.js';
import { benchDrill } from './drill.js';
import { benchImpact } from './impact.js';
import type { BenchOptions, BenchResults, Section } from './results.js';
import { evaluateTargets } from './targets.js';
import { benchUpload } from './upload.js';

/** Seconds of work each invocation of the resumed backup gets: a few parts' worth, so a large dump takes many. */
const RESUME_BUDGET_SECONDS = 3;

/**
 * Runs the selected sections in order (bundle, upload, redis, then dump, e2e and restore on one generated
 * PostgreSQL database) and evaluates the targets. A failing section is recorded in `errors` and the others still run.
 */
export async function runBench(opts: BenchOptions, log: (line: string) => void): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const sections: BenchResults['sections'] = {};
  const errors: BenchResults['errors'] = {};
  const wanted = (s: Section) => opts.only.includes(s);
  const attempt = async (section: Section, body: () => Promise<void>) => {
    if (!wanted(section)) return;
    log(`== ${section}`);
    try {
      await body();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      errors[section] = message;
      log(`error in ${section}: ${message}`);
    }
  };
  const work = await mkdtemp(join(tmpdir(), 'bench-'));
  await withCleanup(() => rm(work, { recursive: true, force: true }), async () => {
    const { repeats } = opts;
    await attempt('bundle', async () => void (sections.bundle = await benchBundle({ work, log })));
    await attempt('upload', async () => void (sections.upload = await benchUpload({ sizesMiB: opts.uploadSizesMiB, repeats, work, log })));
    await attempt('redis', async () => void (sections.redis = await benchRedis({ keys: opts.redisKeys, repeats, work, log })));
    const pgSections = (['dump', 'e2e', 'restore', 'drill', 'impact'] as const).filter(wanted);
    if (pgSections.length === 0) return;
    try {
      await withBenchPostgres(opts.pgSizeMb, log, async (db) => {
        let jobDump: JobDump | undefined;
        // Dump and end to end run in one round robin: both ratios use the same floor runs.
        const dumpRun = async (e2e?: E2ePlan) => {
          const d = await benchDump(db, { repeats, work, log, floorOnly: !wanted('dump'), ...(e2e ? { extra: [e2e.plan] } : {}) });
          if (wanted('dump')) sections.dump = d.result;
          if (e2e) {
            sections.e2e = e2e.result(d.result.floor);
            if (opts.resumeUpload) sections.e2e.resume = await e2e.resume(RESUME_BUDGET_SECONDS);
          }
          jobDump = d.jobDump;
        };
        if (wanted('e2e')) {
          await attempt('e2e', () => withE2ePlan(db, { log }, async (e2e) => {
            log('== dump (with the end-to-end runs in its round robin)');
            try {
              await dumpRun(e2e);
            } catch (error) {
              if (wanted('dump')) errors.dump = error instanceof Error ? error.message : String(error);
              throw error;
            }
          }));
        } else {
          await attempt('dump', () => dumpRun());
        }
        await attempt('restore', async () => void (sections.restore = await benchRestore(db, { repeats, work, log, ...(jobDump ? { dump: jobDump } : {}) })));
        await attempt('drill', async () => void (sections.drill = await benchDrill(db, { repeats, work, log, ...(jobDump ? { dump: jobDump } : {}) })));
        // Last: pgbench writes to the database the other sections dump.
        await attempt('impact', async () => void (sections.impact = await benchImpact(db, { repeats, work, log })));
      });
    } catch (error) {
      // The database could not be generated: every PostgreSQL section failed with it.
      const message = error instanceof Error ? error.message : String(error);
      for (const s of pgSections) errors[s] ??= message;
      log(`error: ${message}`);
    }
  });
  return {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, kernel: release() },
    options: opts,
    sections,
    targets: evaluateTargets(sections, opts.uploadSizesMiB),
    errors,
  };
}
