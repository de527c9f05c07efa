import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { buildDrillJob } from '../../functions/shared/core/scripts/drill-job.js';
import { buildRestoreJob } from '../../functions/shared/core/scripts/restore-job.js';
import { markerFailure } from '../../functions/orchestrator/restore/restore-finish.js';
import { readMarker, runContext, stageFile } from '../helpers/job-run.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { runJob, shells, type Shell } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

const SEED = `
CREATE EXTENSION pgcrypto;
CREATE SCHEMA sales;
CREATE SCHEMA "Ünïcode ""schema""";
CREATE TABLE sales.orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric(10,2), meta jsonb);
INSERT INTO sales.orders (customer, total, meta)
  SELECT 'customer ' || g, g * 1.5, jsonb_build_object('n', g, 'tag', E'tab\\there, newline\\nand "quotes"') FROM generate_series(1, 2500) g;
CREATE TABLE "Ünïcode ""schema"""."Tâble ñame" ("ключ" int PRIMARY KEY, "値" text);
INSERT INTO "Ünïcode ""schema"""."Tâble ñame" VALUES (1, 'héllo wörld'), (2, '日本語のテキスト'), (3, E'back\\\\slash');
CREATE TABLE public.empty_table (x int);
CREATE TABLE public.hashes AS SELECT g AS id, digest(g::text, 'sha256') AS h FROM generate_series(1, 50) g;
SELECT lo_from_bytea(0, convert_to('large object content ' || repeat('x', 5000), 'UTF8'));
`;

const EXPECTED_COUNTS = {
  'public.empty_table': 0,
  'public.hashes': 50,
  'sales.orders': 2500,
  '"Ünïcode ""schema"""."Tâble ñame"': 3,
};

let pg: PostgresServer;
let work: string;
let original: Record<string, string>;

function pgTarget(overrides: Record<string, unknown> = {}): Target {
  return targetSchema.parse({
    name: 'orders-pg', engine: 'postgres', cluster: 'c', service: 's', container: 'postgres', database: 'app', user: 'postgres',
    passwordEnv: 'POSTGRES_PASSWORD', port: pg.port, backupDir: '/backup', ...overrides,
  });
}

async function backup(shell: Shell, name: string, target = pgTarget(), env: NodeJS.ProcessEnv = { POSTGRES_PASSWORD: pg.password }, path = [PG_BIN]) {
  const runDir = join(work, `${shell.name}-${name}`);
  const result = await runJob(shell, runDir, buildBackupJob(target, runContext(runDir)), { env, path });
  return { runDir, result };
}

/** A new run directory holding a copy of the backup under `file`, as the orchestrator's download would leave it. */
function stage(dumpDir: string, name: string, file: string): string {
  return stageFile(join(dumpDir, 'dump.pgdump'), work, name, file);
}

beforeAll(async () => {
  pg = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'pg-jobs-'));
  await pg.createDatabase('app');
  await pg.psql('app', SEED);
  original = await pg.tableChecksums('app');
});

afterAll(async () => {
  await pg?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.each(shells())('postgres jobs under $name', (shell) => {
  let dumpDir: string;

  it('backs up with every step at 0, a promoted dump, its size and sha256, and row counts read from the dump as it is written', async () => {
    const { runDir, result } = await backup(shell, 'backup');
    dumpDir = runDir;
    const m = readMarker(runDir);

    expect(result.code).toBe(0);
    expect(m.ok).toBe(true);
    expect(m.steps.map((s) => s.name)).toEqual(['secret', 'version', 'server', 'dump', 'check', 'promote']);
    expect(m.file).toBe('dump.pgdump');
    const bytes = readFileSync(join(runDir, 'dump.pgdump'));
    expect(m.bytes).toBe(bytes.length);
    expect(m.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(m.toolVersion).toMatch(/^pg_dump \(PostgreSQL\) 15\./);
    expect(m.counts).toMatchObject({ tables: EXPECTED_COUNTS, sequences: { 'sales.orders_id_seq': '2500,true' }, largeObjects: { count: 1 } });
    expect(Object.keys(m.counts?.digests ?? {}).sort()).toEqual(Object.keys(EXPECTED_COUNTS).sort());
    expect(existsSync(join(runDir, 'dump.pgdump.tmp'))).toBe(false);
    expect(m.stderrTail).toContain('compression 1');
  });

  it('restores the dump into a database it creates, with identical table checksums and large objects', async () => {
    const runDir = stage(dumpDir, `${shell.name}-restore`, 'in.pgdump');
    const script = buildRestoreJob(pgTarget(), runContext(runDir), { file: 'in.pgdump', intoDatabase: `copy_${shell.name}`, overwrite: false });

    const result = await runJob(shell, runDir, script, { env: { POSTGRES_PASSWORD: pg.password }, path: [PG_BIN] });

    expect(readMarker(runDir)).toMatchObject({ ok: true, kind: 'restore', file: null });
    expect(result.code).toBe(0);
    expect(await pg.tableChecksums(`copy_${shell.name}`)).toEqual(original);
  });

  it('refuses to restore into a non-empty database without overwrite and leaves it untouched', async () => {
    const db = `live_${shell.name}`;
    await pg.createDatabase(db);
    await pg.psql(db, 'CREATE TABLE keep (x int); INSERT INTO keep VALUES (42);');
    const before = await pg.tableChecksums(db);
    const runDir = stage(dumpDir, `${shell.name}-refuse`, 'in.pgdump');

    const result = await runJob(shell, runDir, buildRestoreJob(pgTarget(), runContext(runDir), { file: 'in.pgdump', intoDatabase: db, overwrite: false }), {
      env: { POSTGRES_PASSWORD: pg.password },
      path: [PG_BIN],
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps.at(-1)).toEqual({ name: 'prepare', status: 1 });
    expect(m.stderrTail).toContain('restore with overwrite');
    expect(await pg.tableChecksums(db)).toEqual(before);
  });

  it('restores over changed data with overwrite and gets the backed-up content back', async () => {
    const db = `over_${shell.name}`;
    await pg.createDatabase(db);
    const runDir = stage(dumpDir, `${shell.name}-over`, 'in.pgdump');
    const job = (overwrite: boolean) => buildRestoreJob(pgTarget(), runContext(runDir), { file: 'in.pgdump', intoDatabase: db, overwrite });
    await runJob(shell, runDir, job(false), { env: { POSTGRES_PASSWORD: pg.password }, path: [PG_BIN] });
    await pg.psql(db, "UPDATE sales.orders SET customer = 'changed' WHERE id < 100; DELETE FROM public.hashes WHERE id > 10;");
    expect(await pg.tableChecksums(db)).not.toEqual(original);

    const result = await runJob(shell, runDir, job(true), { env: { POSTGRES_PASSWORD: pg.password }, path: [PG_BIN] });

    expect(readMarker(runDir).ok).toBe(true);
    expect(result.code).toBe(0);
    expect(await pg.tableChecksums(db)).toEqual(original);
  });

  it('reports pg_restore\'s own first error, not "errors ignored on restore", and notes the database properties this server cannot take', async () => {
    const db = `ghostly_${shell.name}`;
    await pg.psql('postgres', `CREATE ROLE ghost; CREATE DATABASE ${db} OWNER ghost;`);
    await pg.psql(db, 'CREATE TABLE t (x int); ALTER TABLE t OWNER TO ghost; INSERT INTO t VALUES (1);');
    const { runDir: dumped, result: backedUp } = await backup(shell, `ghost-${shell.name}`, pgTarget({ database: db }));
    expect(backedUp.code).toBe(0);
    await pg.psql('postgres', `DROP DATABASE ${db}; DROP ROLE ghost;`);
    const runDir = stage(dumped, `${shell.name}-ghost-restore`, 'in.pgdump');

    const result = await runJob(shell, runDir, buildRestoreJob(pgTarget(), runContext(runDir), { file: 'in.pgdump', intoDatabase: `${db}_copy`, overwrite: false }), {
      env: { POSTGRES_PASSWORD: pg.password },
      path: [PG_BIN],
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.at(-1)).toEqual({ name: 'restore', status: 1 });
    expect(markerFailure(m)).toMatch(/^step "restore" exited with status 1: \S+ error: pg_restore into ghostly_\w+_copy exited with status 1: pg_restore: error: could not execute query: ERROR:  role "ghost" does not exist/);
    expect(m.note).toMatch(/^Some database properties could not be restored: .*role "ghost" does not exist/);
  });

  it('drills: restores into the scratch database, counts rows like the dump did, and drops the scratch database', async () => {
    const runDir = stage(dumpDir, `${shell.name}-drill`, 'latest.pgdump');
    const scratch = `app_drill_${shell.name}`;

    const result = await runJob(shell, runDir, buildDrillJob(pgTarget(), runContext(runDir), { file: 'latest.pgdump', scratchDatabase: scratch }), {
      env: { POSTGRES_PASSWORD: pg.password },
      path: [PG_BIN],
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.ok).toBe(true);
    expect(m.counts).toMatchObject({ tables: EXPECTED_COUNTS, archive: { tables: EXPECTED_COUNTS } });
    expect(m.counts?.digests).toEqual(m.counts?.archive?.digests);
    expect(m.steps.at(-1)).toEqual({ name: 'drop', status: 0 });
    expect(await pg.psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${scratch}'`)).toBe('0\n');
  });

  it('fails a drill of a corrupted dump, drops the scratch database, and touches nothing else', async () => {
    const runDir = join(work, `${shell.name}-baddrill`);
    mkdirSync(runDir, { recursive: true });
    const bytes = readFileSync(join(dumpDir, 'dump.pgdump'));
    writeFileSync(join(runDir, 'latest.pgdump'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const scratch = `bad_drill_${shell.name}`;

    const result = await runJob(shell, runDir, buildDrillJob(pgTarget(), runContext(runDir), { file: 'latest.pgdump', scratchDatabase: scratch }), {
      env: { POSTGRES_PASSWORD: pg.password },
      path: [PG_BIN],
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps.at(-1)).toEqual({ name: 'drop', status: 0 });
    expect(await pg.psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${scratch}'`)).toBe('0\n');
    expect(await pg.tableChecksums('app')).toEqual(original);
  });

  it.each([
    { case: 'a wrong password', env: { POSTGRES_PASSWORD: 'wrong' }, target: {}, failing: 'server' },
    { case: 'a missing database', env: { POSTGRES_PASSWORD: 'test-password' }, target: { database: 'nope' }, failing: 'server' },
    { case: 'a missing password variable', env: {}, target: {}, failing: 'secret' },
  ])('writes ok=false naming the failing step and promotes nothing, given $case', async ({ case: name, env, target, failing }) => {
    const { runDir, result } = await backup(shell, name.replace(/\W+/g, '-'), pgTarget(target), env);

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps.at(-1)?.name).toBe(failing);
    expect(m.steps.at(-1)?.status).not.toBe(0);
    expect(m.file).toBeNull();
    expect(existsSync(join(runDir, 'dump.pgdump'))).toBe(false);
    expect(existsSync(join(runDir, 'dump.pgdump.tmp'))).toBe(false);
  });

  it('writes ok=false when pg_dump is killed mid-way', async () => {
    const bin = tempDir('killed-pg-dump');
    writeFileSync(join(bin, 'pg_dump'), `#!/bin/sh\ncase $1 in --version) exec ${PG_BIN}/pg_dump --version;; esac\nprintf 'PGDMP partial'\nkill -9 $$\n`);
    chmodSync(join(bin, 'pg_dump'), 0o755);

    const { runDir, result } = await backup(shell, 'killed', pgTarget(), { POSTGRES_PASSWORD: pg.password }, [bin, PG_BIN]);

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps.at(-1)).toEqual({ name: 'dump', status: 137 });
    expect(existsSync(join(runDir, 'dump.pgdump'))).toBe(false);
  });

  it('fails the dump step, naming pg_restore, when the archive stream is cut short though pg_dump exits 0', async () => {
    const bin = tempDir('truncating-pg-dump');
    const half = join(bin, 'half.pgdump');
    const whole = readFileSync(join(dumpDir, 'dump.pgdump'));
    writeFileSync(half, whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(join(bin, 'pg_dump'), `#!/bin/sh\ncase $1 in --version) exec ${PG_BIN}/pg_dump --version;; esac\nexec cat ${half}\n`);
    chmodSync(join(bin, 'pg_dump'), 0o755);

    const { runDir, result } = await backup(shell, 'truncated', pgTarget(), { POSTGRES_PASSWORD: pg.password }, [bin, PG_BIN]);

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.at(-1)?.name).toBe('dump');
    expect(m.steps.at(-1)?.status).not.toBe(0);
    expect(m.stderrTail).toContain('error: pg_restore -a exited with status');
    expect(m.stderrTail).not.toContain('error: pg_dump exited');
    expect(existsSync(join(runDir, 'dump.pgdump'))).toBe(false);
    expect(existsSync(join(runDir, 'dump.pgdump.tmp'))).toBe(false);
  });

  it('leaves no done.gz when the job itself is killed mid-way', async () => {
    const bin = tempDir('slow-pg-dump');
    writeFileSync(join(bin, 'pg_dump'), `#!/bin/sh\ncase $1 in --version) exec ${PG_BIN}/pg_dump --version;; esac\nexec sleep 30\n`);
    chmodSync(join(bin, 'pg_dump'), 0o755);
    const runDir = join(work, `${shell.name}-jobkilled`);
    let pid = 0;

    const running = runJob(shell, runDir, buildBackupJob(pgTarget(), runContext(runDir)), {
      env: { POSTGRES_PASSWORD: pg.password },
      path: [bin, PG_BIN],
      onSpawn: (p) => (pid = p),
    });
    while (!(existsSync(join(runDir, 'log')) && readFileSync(join(runDir, 'log'), 'utf8').includes('step dump: start'))) {
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(pid, 'SIGKILL');
    const result = await running;

    expect(result.signal).toBe('SIGKILL');
    expect(existsSync(join(runDir, 'done.gz'))).toBe(false);
    expect(existsSync(join(runDir, 'dump.pgdump'))).toBe(false);
  });
});
