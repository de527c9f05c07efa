import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEEKDAYS } from '../../functions/shared/core/s3-keys.js';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { CLUSTER, CONTAINER_BACKUP_DIR, containerEnv, editRunJson, KEY_PREFIX, SCHEDULED_EVENT, startHarness, waitFor, type Harness } from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startAll } from '../helpers/start-all.js';

/**
 * The built orchestrator against a real PostgreSQL 15, with what a target's history brings: the weekday key of a
 * run whose slot is on another day than its start, the BackupAgeHours reports the staleness alarm watches, and a
 * dump much smaller than the backup before it (a freshly initialised task in a rolling deploy).
 */

let h: Harness;
let pg: PostgresServer;

beforeAll(async () => {
  [h, pg] = await startAll([startHarness(), startPostgres()]);
  await pg.createDatabase('app');
  await pg.psql('app', `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;`);
  // The service's data (over 1 MiB dumped) and what a freshly initialised instance of it holds.
  await pg.createDatabase('shop');
  await pg.psql('shop', `CREATE TABLE orders (id int PRIMARY KEY, v text); INSERT INTO orders SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 60000) g;`);
  await pg.createDatabase('shop_fresh');
  await pg.psql('shop_fresh', `CREATE TABLE orders (id int PRIMARY KEY, v text); INSERT INTO orders SELECT g, 'seed' FROM generate_series(1, 10) g;`);
}, 180_000);

afterAll(async () => {
  await Promise.all([h?.stop(), pg?.stop()]);
});

type Outcome = { target: string; outcome: string; reason?: string; runId?: string; key?: string };
function outcomeOf(run: LambdaRun): Outcome {
  expect(run.error, run.stderr).toBeNull();
  return (run.result as { results: Outcome[] }).results[0]!;
}

function pgTarget(name: string, database = 'app'): void {
  h.addService(name, { env: containerEnv({ DB_PASSWORD: pg.password }) });
  h.setTargets([{ name, engine: 'postgres', service: name, container: name, database, user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port }]);
}

/** The BackupAgeHours values an invocation reported for `target`. */
function ages(run: LambdaRun, target: string): number[] {
  return run.metrics.filter((m) => m.target === target && typeof m.BackupAgeHours === 'number').map((m) => m.BackupAgeHours as number);
}

/** Starts a scheduled dump and waits for its marker; returns the run id. */
async function dumpReady(name: string): Promise<string> {
  const started = outcomeOf(await h.run(SCHEDULED_EVENT));
  expect(started.outcome).toBe('started');
  await waitFor('the marker', async () => existsSync(join(h.efsDir, name, started.runId!, 'done.gz')), 60_000);
  return started.runId!;
}

describe('a run whose slot is on the day before its start', () => {
  it("writes the slot's weekday, not the start's", async () => {
    pgTarget('slot-pg');
    const runId = await dumpReady('slot-pg');
    // The slot 23:59 of the day before the start (firing jitter, the hourly orchestrator): a different weekday.
    let startedAt = '';
    await editRunJson(h.efsDir, 'slot-pg', (r) => {
      startedAt = String(r.startedAt);
      const day = new Date(startedAt);
      r.slot = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()) - 60_000).toISOString();
    });
    const startDay = WEEKDAYS[(new Date(startedAt).getUTCDay() + 6) % 7]!;
    const slotDay = WEEKDAYS[(new Date(startedAt).getUTCDay() + 5) % 7]!;

    const done = outcomeOf(await h.run(SCHEDULED_EVENT));

    expect(done).toMatchObject({ outcome: 'succeeded', runId, key: `${KEY_PREFIX}slot-pg/${slotDay}.pgdump` });
    expect(await h.getObject(`${KEY_PREFIX}slot-pg/${startDay}.pgdump`)).toBeNull();
    const manifest = JSON.parse((await h.getObject(`${KEY_PREFIX}slot-pg/${slotDay}.json`))!.toString()) as Record<string, unknown>;
    expect(manifest).toMatchObject({ weekday: slotDay, runId, startedAt });
  });
});

describe('BackupAgeHours', () => {
  it('is not reported before the first backup, then reports the newest backup as fresh', async () => {
    pgTarget('age-pg');
    const first = await h.run(SCHEDULED_EVENT);
    expect(outcomeOf(first).outcome).toBe('started');
    // No backup at all: nothing reported, so the alarm (missing data breaches) fires.
    expect(ages(first, 'age-pg')).toEqual([]);
    expect(first.logs.some((l) => l.message.startsWith('no verified backup yet') && l.target === 'age-pg')).toBe(true);
    await waitFor('the marker', async () => existsSync(join(h.efsDir, 'age-pg', outcomeOf(first).runId!, 'done.gz')), 60_000);

    const done = await h.run(SCHEDULED_EVENT);

    expect(outcomeOf(done).outcome).toBe('succeeded');
    const [age] = ages(done, 'age-pg');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(0.5);
  });

  it('reports an old newest backup by its age in hours', async () => {
    pgTarget('old-pg');
    await h.seedWeek('old-pg', 'pgdump');
    const run = await h.run(SCHEDULED_EVENT);
    // The seeded manifests started at 2026-01-01T00:00Z.
    const expected = (Date.now() - Date.parse('2026-01-01T00:00:00Z')) / 3_600_000;
    expect(ages(run, 'old-pg')).toHaveLength(1);
    expect(Math.abs(ages(run, 'old-pg')[0]! - expected)).toBeLessThan(0.1);
  });
});

describe('StaleTargets (alarms.staleness: "fleet")', () => {
  /** The StaleTargets values an invocation published, each with its target dimension (none: the fleet-level one). */
  const staleCounts = (run: LambdaRun) =>
    run.metrics.filter((m) => typeof m.StaleTargets === 'number').map((m) => ({ count: m.StaleTargets, target: m.target }));
  /** A target on the test's PostgreSQL. */
  const target = (name: string) => ({ name, engine: 'postgres', service: name, container: name, database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port });

  it("counts, after each scheduled run, the targets stale by their own limits (no backup, too old) in one fleet-level metric", async () => {
    pgTarget('fleet-old');
    await h.seedWeek('fleet-old', 'pgdump');
    pgTarget('fleet-young');
    await h.seedWeek('fleet-young', 'pgdump');
    h.addService('fleet-none', { env: containerEnv({ DB_PASSWORD: pg.password }) });
    // The seeded backups are from 2026-01-01: over a 29 h limit, under a limit of a million hours.
    h.setTargets([target('fleet-old'), target('fleet-young'), target('fleet-none')], { 'fleet-old': 29, 'fleet-young': 1_000_000, 'fleet-none': 29 });

    const run = await h.run(SCHEDULED_EVENT);

    expect(run.error, run.stderr).toBeNull();
    expect(staleCounts(run)).toEqual([{ count: 2, target: undefined }]);
    const line = run.logs.find((l) => l.message === 'stale targets');
    expect((line?.targets as { target: string }[]).map((t) => t.target).sort()).toEqual(['fleet-none', 'fleet-old']);
    // The per-target reports go on: the dashboard charts them.
    expect(ages(run, 'fleet-young')).toHaveLength(1);
  });

  it('counts the targets a run left for the next hour (its time budget spent before them) as stale', async () => {
    h.setTargets([target('fleet-old'), target('fleet-young')], { 'fleet-old': 1_000_000, 'fleet-young': 1_000_000 });

    // Less left than the handler's safety margin: no target step starts.
    const run = await h.run(SCHEDULED_EVENT, { remainingMs: 30_000 });

    expect(run.error, run.stderr).toBeNull();
    expect((run.result as { results: Outcome[] }).results.map((r) => r.outcome)).toEqual(['deferred', 'deferred']);
    expect(staleCounts(run)).toEqual([{ count: 2, target: undefined }]);
  });

  it('is not published with per-target alarms (no limits packaged)', async () => {
    pgTarget('per-target-pg');
    expect(staleCounts(await h.run(SCHEDULED_EVENT))).toEqual([]);
  });
});

describe('a rolling deploy with a freshly initialised task', () => {
  const manual = { action: 'backup', target: 'shop' };
  const fast = { env: { FAST_PATH_SECONDS: '60' } };
  const manifestOf = async (key: string) => JSON.parse((await h.getObject(key.replace(/\.pgdump$/, '.json')))!.toString()) as Record<string, unknown>;

  it('backs up from the task that has run longest, and flags a dump that shrank when only the fresh one is left', async () => {
    const oldTask = h.addService('shop', { env: containerEnv({ DB_PASSWORD: pg.password }) });
    h.setTargets([{ name: 'shop', engine: 'postgres', service: 'shop', container: 'shop', database: 'shop', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port }]);
    const first = await h.run(manual, fast);
    expect(outcomeOf(first).outcome).toBe('succeeded');
    expect(metricSum(first, 'BackupShrank', 'shop')).toBe(0);
    const before = await manifestOf(outcomeOf(first).key!);
    expect(before).not.toHaveProperty('shrank');
    expect((before.counts as { tables: Record<string, number> }).tables).toEqual({ 'public.orders': 60000 });

    // The deploy starts a newer task whose database was just initialised (its pg_dump reads shop_fresh).
    const fresh = h.fakePgDump('for a; do shift; [ "$a" = shop ] && a=shop_fresh; set -- "$@" "$a"; done\nexec ' + "'/usr/lib/postgresql/15/bin/pg_dump'" + ' "$@"');
    h.standin.setTask(CLUSTER, {
      id: 'f'.repeat(32),
      service: 'shop',
      startedAt: new Date().toISOString(),
      containers: [{ name: 'shop', env: containerEnv({ DB_PASSWORD: pg.password }, fresh), mounts: { [CONTAINER_BACKUP_DIR]: h.efsDir } }],
    });
    const during = await h.run(manual, fast);
    expect(outcomeOf(during).outcome).toBe('succeeded');
    expect(metricSum(during, 'BackupShrank', 'shop')).toBe(0);
    expect(await manifestOf(outcomeOf(during).key!)).toMatchObject({ sourceTask: expect.stringContaining(oldTask), counts: { tables: { 'public.orders': 60000 } } });

    // The old task is gone: the fresh one is all there is. Its dump is valid, and uploaded, but flagged.
    h.standin.removeTask(CLUSTER, oldTask);
    const after = await h.run(manual, fast);
    const outcome = outcomeOf(after);
    expect(outcome.outcome).toBe('succeeded');
    expect(metricSum(after, 'BackupShrank', 'shop')).toBe(1);
    const manifest = await manifestOf(outcome.key!);
    expect(manifest).toMatchObject({
      sourceTask: expect.stringContaining('f'.repeat(32)),
      counts: { tables: { 'public.orders': 10 } },
      shrank: {
        previousRunId: outcomeOf(during).runId,
        bytes: { before: (before as { size: number }).size, after: manifest.size },
        tables: [{ name: 'public.orders', before: 60000, after: 10 }],
        percent: 50,
      },
    });
    expect((await h.getObject(outcome.key!))!.length).toBe(manifest.size);
    const warning = after.logs.find((l) => l.level === 'WARN' && l.message.startsWith('backup shrank:'));
    expect(warning?.message).toContain('public.orders (60000 → 10 rows)');
    expect(warning).toMatchObject({ target: 'shop', shrankTables: ['public.orders'] });
  });
});
