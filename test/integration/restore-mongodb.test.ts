import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { containerEnv } from '../helpers/orchestrator-harness.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';

/**
 * MongoDB restores and drills through the built orchestrator. No MongoDB server can run here: the
 * container's tools are the fake mongodump/mongorestore/mongosh of test/helpers/fake-mongo, which check
 * their arguments and read the fake archive the backup wrote; the tests assert what reaches them.
 */

const FAKE_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-mongo');
const TARGET = { name: 'docs', engine: 'mongodb', service: 'mongo', container: 'mongo', database: 'app', user: 'root', passwordEnv: 'MONGO_PASSWORD', port: 27017 };

let w: RestoreHarness;
let logDir: string;
let log: string;

beforeAll(async () => {
  w = await startRestoreHarness();
  logDir = await mkdtemp(join(tmpdir(), 'fake-mongo-log-'));
  log = join(logDir, 'calls.log');
  w.h.addService('mongo', { env: containerEnv({ MONGO_PASSWORD: 'secret', FAKE_MONGO_LOG: log, FAKE_MONGO_DATA: 'app.users:3 app.orders:5' }, FAKE_BIN) });
  w.h.setTargets([TARGET]);
  await w.backup('docs');
}, 120_000);

afterAll(async () => {
  await w?.stop();
  await rm(logDir, { recursive: true, force: true });
});

/** The fake tools' calls so far: one array per call, the tool name first. */
function calls(): string[][] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\x1f')) : [];
}

describe('restoring MongoDB (fake tools)', () => {
  it.each([
    ['into another database', { intoDatabase: 'app_copy' }, ['--nsFrom=app.*', '--nsTo=app_copy.*'], ['--drop']],
    ['over the live database with overwrite', { overwrite: true }, ['--drop'], ['--nsTo=app_copy.*']],
  ])('restores %s', async (_case, request, present, absent) => {
    const before = calls().length;
    const result = await w.untilDone({ action: 'restore', target: 'docs', backup: 'latest', ...request });
    expect(result.outcome, JSON.stringify(result)).toBe('succeeded');
    const restore = calls().slice(before).find((c) => c[0] === 'mongorestore' && !c.includes('--dryRun'));
    expect(restore).toEqual(expect.arrayContaining(['--gzip', ...present]));
    for (const a of absent) expect(restore).not.toContain(a);
    expect(restore?.some((a) => a.includes('secret'))).toBe(false);
  });

  it('refuses the live database without overwrite', async () => {
    const run = await w.run({ action: 'restore', target: 'docs', backup: 'latest' });
    expect(run.error?.message).toMatch(/refusing to restore into the live database "app" of target "docs"/);
  });

  it('drills into the scratch database, compares its documents with the counts the backup read from the archive, and drops it', async () => {
    const before = calls().length;
    const runs: LambdaRun[] = [];
    const result = await w.untilDone({ action: 'drill', target: 'docs' }, runs);
    expect(result, JSON.stringify(result)).toMatchObject({
      outcome: 'succeeded',
      database: 'app_drill',
      note: 'restored counts match the manifest (2 compared): MongoDB: 2 collections, 8 documents at dump time: all restored',
    });
    expect(runs.reduce((n, r) => n + metricSum(r, 'RestoreDrillSuccess', 'docs'), 0)).toBe(1);
    expect(calls().slice(before).find((c) => c[0] === 'dropped')?.[1]).toBe('app_drill');
  });
});
