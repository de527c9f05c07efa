import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { containerEnv, editRunJson, SCHEDULED_EVENT, waitFor } from '../helpers/orchestrator-harness.js';
import { PG_BIN } from '../helpers/postgres.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Restore drills of PostgreSQL through the built orchestrator: a scheduled drill runs when due and
 * passes on a good backup; a manual drill runs now; a drill of a corrupt object, or of data that does
 * not match the manifest's counts, fails with RestoreDrillFailure; and no drill touches anything but
 * its scratch database, which is always gone afterwards.
 */

let w: RestoreHarness;
let pg: PostgresServer;
let s3: S3Client;
let backup: { key: string; versionId: string };
let manifest: Record<string, unknown>;
let live: Record<string, string>;

const TARGET = {
  name: 'pg', engine: 'postgres', service: 'postgres', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD',
  drill: { schedule: '0 3 * * 0' },
};

beforeAll(async () => {
  [w, pg] = await startAll([startRestoreHarness(), startPostgres()]);
  await pg.createDatabase('app');
  await pg.psql(
    'app',
    `CREATE EXTENSION hstore;
     CREATE TABLE t (id int PRIMARY KEY, v text, h hstore); INSERT INTO t SELECT g, repeat(md5(g::text), 20), hstore('g', g::text) FROM generate_series(1, 20000) g;
     CREATE SCHEMA "Größe"; CREATE TABLE "Größe"."Zähler ✓" (n int); INSERT INTO "Größe"."Zähler ✓" SELECT generate_series(1, 77);
     CREATE TABLE empty (x int);`,
  );
  w.h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  w.h.setTargets([{ ...TARGET, port: pg.port }]);
  backup = await w.backup('pg');
  manifest = JSON.parse((await w.h.getObject(backup.key.replace(/\.pgdump$/, '.json')))!.toString()) as Record<string, unknown>;
  live = await pg.tableChecksums('app');
  s3 = w.h.s3.newClient();
}, 240_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([w?.stop(), pg?.stop()]);
});

const databases = async () => (await pg.psql('postgres', 'SELECT datname FROM pg_database ORDER BY 1')).split('\n').filter(Boolean);
const sum = (runs: LambdaRun[], metric: string) => runs.reduce((n, r) => n + metricSum(r, metric, 'pg'), 0);

/** Replaces the backup object (as a new version) and its manifest, which names that version. */
async function replaceBackup(body: Buffer, manifestChanges: Record<string, unknown>): Promise<void> {
  const put = await s3.send(new PutObjectCommand({ Bucket: w.h.s3.bucket, Key: backup.key, Body: body }));
  const next = { ...manifest, objectVersionId: put.VersionId, uploadedAt: new Date().toISOString(), ...manifestChanges };
  await s3.send(new PutObjectCommand({ Bucket: w.h.s3.bucket, Key: backup.key.replace(/\.pgdump$/, '.json'), Body: JSON.stringify(next) }));
}

async function expectUntouched() {
  expect(await pg.tableChecksums('app')).toEqual(live);
  expect(await databases()).not.toContain('app_drill');
  expect(existsSync(join(w.h.efsDir, 'pg', 'run.json'))).toBe(false);
}

describe('restore drills', () => {
  it('records the dump-time counts in the manifest', () => {
    expect(manifest.counts).toMatchObject({ tables: { 'public.t': 20000, '"Größe"."Zähler ✓"': 77, 'public.empty': 0 }, digests: { 'public.empty': 'd41d8cd98f00b204e9800998ecf8427e' } });
  });

  it('runs a due drill from the hourly schedule, passes on a good backup, then is not due again', async () => {
    const runs: LambdaRun[] = [];
    let outcome: { kind?: string; outcome: string; note?: string } = { outcome: 'none' };
    for (let i = 0; i < 60 && !['succeeded', 'failed'].includes(outcome.outcome); i++) {
      const run = await w.run(SCHEDULED_EVENT);
      runs.push(run);
      expect(run.error, run.stderr).toBeNull();
      outcome = (run.result as { results: typeof outcome[] }).results[0]!;
      expect(outcome.kind, JSON.stringify(outcome)).toBe('drill');
    }
    expect(outcome.outcome, JSON.stringify(outcome)).toBe('succeeded');
    expect(outcome.note).toMatch(/^restored content matches \(rows of 3 tables, row digests of 3 tables, restored = archive = dump time\)/);
    expect(sum(runs, 'RestoreDrillSuccess')).toBe(1);
    expect(sum(runs, 'RestoreDrillFailure')).toBe(0);
    expect(runs.flatMap((r) => r.logs).some((l) => l.level === 'INFO' && /^restore drill passed/.test(l.message))).toBe(true);
    await expectUntouched();

    const idle = await w.run(SCHEDULED_EVENT);
    expect((idle.result as { results: { outcome: string; kind?: string }[] }).results[0]).toMatchObject({ outcome: 'idle' });
    expect(sum([idle], 'RestoreDrillSuccess')).toBe(0);
  });

  it('runs a manual drill now', async () => {
    const runs: LambdaRun[] = [];
    const result = await w.untilDone({ action: 'drill', target: 'pg' }, runs);
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'succeeded', database: 'app_drill', source: { key: backup.key, versionId: backup.versionId } });
    expect(sum(runs, 'RestoreDrillSuccess')).toBe(1);
    await expectUntouched();
  });

  it('does not start while a backup holds the target', async () => {
    const record = {
      version: 1, kind: 'backup', runId: '20261122T000000Z-abcdef', target: 'pg', phase: 'starting', createdAt: new Date().toISOString(),
      slot: null, startedAt: null, task: null, pid: null, uploadAttempts: 0, lastError: null, uploadMs: 0, uploaded: null,
    };
    await writeFile(join(w.h.efsDir, 'pg', 'run.json'), JSON.stringify(record));
    try {
      const run = await w.run({ action: 'drill', target: 'pg' });
      expect((run.result as { result: unknown }).result).toMatchObject({ kind: 'drill', outcome: 'busy', reason: expect.stringMatching(/a backup \(run 20261122T000000Z-abcdef\) holds/) });
      expect(await databases()).not.toContain('app_drill');
    } finally {
      await rm(join(w.h.efsDir, 'pg', 'run.json'));
    }
  });

  it.each([
    [
      'an object truncated after its table of contents, with a manifest vouching for it',
      (good: Buffer) => good.subarray(0, Math.floor(good.length * 0.6)),
      true,
      /step "restore" exited with status 1/,
    ],
    [
      'an object whose bytes do not match the manifest',
      (good: Buffer) => Buffer.concat([good.subarray(0, 100), Buffer.from('corrupt'), good.subarray(107)]),
      false,
      /has sha256 \w+ but the manifest says/,
    ],
  ])('fails on %s, alarms, and touches nothing but its scratch database', async (_case, corrupt, vouch, reason) => {
    const good = (await w.h.getObject(backup.key))!;
    const bad = corrupt(good);
    await replaceBackup(bad, vouch ? { size: bad.length, sha256: createHash('sha256').update(bad).digest('hex') } : {});
    try {
      const runs: LambdaRun[] = [];
      const result = await w.untilDone({ action: 'drill', target: 'pg' }, runs);
      expect(result.outcome, JSON.stringify(result)).toBe('failed');
      expect(result.reason).toMatch(reason);
      expect(sum(runs, 'RestoreDrillFailure')).toBe(1);
      expect(sum(runs, 'RestoreDrillSuccess')).toBe(0);
      expect(runs.flatMap((r) => r.logs).filter((l) => l.level === 'ERROR' && /^restore drill failed: /.test(l.message))).toHaveLength(1);
      await expectUntouched();
    } finally {
      await replaceBackup(good, {});
    }
  });

  it('fails when the restored rows differ from the counts recorded at dump time', async () => {
    const good = (await w.h.getObject(backup.key))!;
    await replaceBackup(good, { counts: { tables: { 'public.t': 20001, '"Größe"."Zähler ✓"': 77, 'public.empty': 0, 'public.gone': 3 } } });
    try {
      const runs: LambdaRun[] = [];
      const result = await w.untilDone({ action: 'drill', target: 'pg' }, runs);
      expect(result.outcome).toBe('failed');
      expect(result.problems).toEqual(['table public.gone (3 rows at dump time) is missing from the restore', 'table public.t: 20001 rows at dump time, 20000 restored']);
      expect(sum(runs, 'RestoreDrillFailure')).toBe(1);
      await expectUntouched();
    } finally {
      await replaceBackup(good, {});
    }
  });

  it('drops the scratch database that a drill job killed at its time limit left on the server', async () => {
    // The restore step hangs; the scratch database already exists then.
    const bin = mkdtempSync(join(tmpdir(), 'hanging-pg-restore-'));
    writeFileSync(join(bin, 'pg_restore'), `#!/bin/sh\nfor a; do [ "$a" = -j ] && exec sleep 600; done\nexec ${PG_BIN}/pg_restore "$@"\n`, { mode: 0o755 });
    w.h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }, bin) });
    w.h.setTargets([{ ...TARGET, port: pg.port, dumpTimeoutMinutes: 1 }]);
    try {
      const started = (await w.run({ action: 'drill', target: 'pg' })).result as { result: { runId: string } };
      await waitFor('the scratch database', async () => (await databases()).includes('app_drill'));
      await editRunJson(w.h.efsDir, 'pg', (r) => {
        r.startedAt = new Date(Date.now() - 5 * 60_000).toISOString();
      });

      const runs: LambdaRun[] = [];
      const result = await w.untilDone({ action: 'drill', target: 'pg', runId: started.result.runId }, runs);

      expect(result.outcome, JSON.stringify(result)).toBe('failed');
      expect(result.reason).toMatch(/no marker after 1 min \(dumpTimeoutMinutes\)/);
      expect(await databases()).not.toContain('app_drill');
      expect(runs.flatMap((r) => r.logs).some((l) => l.message === 'scratch database dropped after the failed drill')).toBe(true);
      expect(sum(runs, 'RestoreDrillFailure')).toBe(1);
      await expectUntouched();
    } finally {
      w.h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
      w.h.setTargets([{ ...TARGET, port: pg.port }]);
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
