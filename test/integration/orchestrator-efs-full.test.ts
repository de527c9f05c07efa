import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { containerEnv, readRunJson, SCHEDULED_EVENT, startHarness, waitFor, type Harness } from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startAll } from '../helpers/start-all.js';

/**
 * A full EFS, played by a small tmpfs mounted over the harness's EFS directory (needs root, like the
 * stand-in's mount namespaces): the run fails with a clear reason and a metric, and the target backs
 * up again once there is space.
 */

let h: Harness;
let pg: PostgresServer;
let mounted = false;
const FILLER = '.filler';

beforeAll(async () => {
  [h, pg] = await startAll([startHarness(), startPostgres()]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0777', 'tmpfs', h.efsDir]);
  mounted = true;
  await pg.createDatabase('app');
  await pg.psql('app', `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;`);
  h.addService('full', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  h.setTargets([{ name: 'full', engine: 'postgres', service: 'full', container: 'full', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port }]);
}, 120_000);

afterAll(async () => {
  // Lazy: a job still finishing in a stand-in namespace must not keep the mount busy.
  if (mounted) execFileSync('umount', ['-l', h.efsDir]);
  await Promise.all([h?.stop(), pg?.stop()]);
});

/** Fills the file system: writes until ENOSPC. */
async function fill(): Promise<void> {
  await writeFile(join(h.efsDir, FILLER), Buffer.alloc(2 * 1024 * 1024)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOSPC') throw error;
  });
}

function outcomeOf(run: LambdaRun): { outcome: string; reason?: string; runId?: string } {
  expect(run.error, run.stderr).toBeNull();
  return (run.result as { results: { outcome: string; reason?: string; runId?: string }[] }).results[0]!;
}

describe('a full EFS', () => {
  it('fails taking the lock with a reason that says so, and backups resume once there is space', async () => {
    await fill();
    const run = await h.run(SCHEDULED_EVENT);
    expect(outcomeOf(run)).toMatchObject({ outcome: 'failed' });
    expect(outcomeOf(run).reason).toMatch(/EFS is full while taking the run lock/);
    expect(run.logs.filter((l) => l.level === 'ERROR' && l.target === 'full')).toHaveLength(1);
    expect(metricSum(run, 'BackupFailure', 'full')).toBe(1);
    await rm(join(h.efsDir, FILLER));

    const started = outcomeOf(await h.run(SCHEDULED_EVENT));
    expect(started.outcome).toBe('started');
    await waitFor('the marker', async () => existsSync(join(h.efsDir, 'full', started.runId!, 'done.gz')));
    expect(outcomeOf(await h.run(SCHEDULED_EVENT))).toMatchObject({ outcome: 'succeeded', runId: started.runId });
  });

  it('ends a run whose state can no longer be written, freeing its space', async () => {
    const started = outcomeOf(await h.run({ action: 'backup', target: 'full' }));
    expect(started.outcome).toBe('started');
    await waitFor('the marker', async () => existsSync(join(h.efsDir, 'full', started.runId!, 'done.gz')));
    await fill();
    const run = await h.run(SCHEDULED_EVENT);
    expect(outcomeOf(run)).toMatchObject({ outcome: 'failed', runId: started.runId });
    expect(outcomeOf(run).reason).toMatch(/EFS is full while taking the run lease/);
    expect(metricSum(run, 'BackupFailure', 'full')).toBe(1);
    expect(existsSync(join(h.efsDir, 'full', started.runId!))).toBe(false);
    expect(await readRunJson(h.efsDir, 'full')).toBeNull();
    await rm(join(h.efsDir, FILLER));
  });
});
