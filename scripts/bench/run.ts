import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchBundle } from './bundle.js';
import { withCleanup } from './cleanup.js';
import { benchDump, type JobDump } from './dump-postgres.js';
import { benchRedis } from './dump-redis.js';
import { benchE2e } from './e2e.js';
import { withBenchPostgres } from './pg-database.js';
import { benchRestore } from './restore.js';
import { benchDrill } from './drill.js';
import type { BenchOptions, BenchResults, Section } from './results.js';
import { evaluateTargets } from './targets.js';
import { benchUpload } from './upload.js';

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
    const pgSections = (['dump', 'e2e', 'restore', 'drill'] as const).filter(wanted);
    if (pgSections.length === 0) return;
    try {
      await withBenchPostgres(opts.pgSizeMb, log, async (db) => {
        let jobDump: JobDump | undefined;
        await attempt('dump', async () => {
          const d = await benchDump(db, { repeats, work, log });
          sections.dump = d.result;
          jobDump = d.jobDump;
        });
        await attempt('e2e', async () => void (sections.e2e = await benchE2e(db, { repeats, log })));
        await attempt('restore', async () => void (sections.restore = await benchRestore(db, { repeats, work, log, ...(jobDump ? { dump: jobDump } : {}) })));
        await attempt('drill', async () => void (sections.drill = await benchDrill(db, { repeats, work, log, ...(jobDump ? { dump: jobDump } : {}) })));
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
