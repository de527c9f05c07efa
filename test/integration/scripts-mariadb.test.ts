import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { buildDrillJob } from '../../functions/shared/core/scripts/drill-job.js';
import { buildRestoreJob } from '../../functions/shared/core/scripts/restore-job.js';
import { readMarker, runContext, stageFile } from '../helpers/job-run.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { runJob, shells, type Shell } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

const SEED = `
CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100), note TEXT, photo BLOB) DEFAULT CHARSET=utf8mb4;
INSERT INTO customers (name, note, photo) VALUES
  ('O''Brien', 'it''s "quoted", with (parens),(commas) and a \\\\ backslash', 0x00FF2728),
  ('Zoë 日本', 'line\\nbreak\\ttab', NULL),
  ('plain', '),(', 'x');
CREATE TABLE \`odd \`\`name\`\`\` (k INT PRIMARY KEY, v VARCHAR(10));
INSERT INTO \`odd \`\`name\`\`\` VALUES (1, 'a'), (2, 'b');
CREATE TABLE empty_one (x INT);
CREATE TABLE numbers (n INT PRIMARY KEY);
INSERT INTO numbers SELECT seq FROM seq_1_to_3000;
CREATE VIEW customer_names AS SELECT name FROM customers;
CREATE TRIGGER numbers_bi BEFORE INSERT ON numbers FOR EACH ROW SET NEW.n = NEW.n;
CREATE PROCEDURE hello() SELECT 'hello';
`;

const EXPECTED_COUNTS = { customers: 3, 'odd `name`': 2, empty_one: 0, numbers: 3000 };

let db: MariadbServer;
let work: string;
let original: Record<string, string>;

function myTarget(overrides: Record<string, unknown> = {}): Target {
  return targetSchema.parse({
    name: 'shop', engine: 'mariadb', cluster: 'c', service: 's', container: 'mariadb', database: 'shop', user: 'backup',
    passwordEnv: 'MARIADB_PASSWORD', port: db.port, backupDir: '/backup', ...overrides,
  });
}

function stage(dumpDir: string, name: string, file: string): string {
  return stageFile(join(dumpDir, 'dump.sql.gz'), work, name, file);
}

const env = () => ({ MARIADB_PASSWORD: db.password });

beforeAll(async () => {
  db = await startMariadb();
  work = mkdtempSync(join(tmpdir(), 'mariadb-jobs-'));
  await db.sql('', 'CREATE DATABASE shop');
  await db.sql('shop', SEED);
  original = await db.tableChecksums('shop');
});

afterAll(async () => {
  await db?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.each(shells())('mariadb jobs under $name', (shell: Shell) => {
  let dumpDir: string;

  it('backs up with a checked footer, size, sha256 and exact row counts read from the dump', async () => {
    const runDir = join(work, `${shell.name}-backup`);

    const result = await runJob(shell, runDir, buildBackupJob(myTarget(), runContext(runDir)), { env: env() });
    dumpDir = runDir;

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.ok).toBe(true);
    expect(m.steps.map((s) => s.name)).toEqual(['secret', 'version', 'source', 'dump', 'check', 'promote']);
    const bytes = readFileSync(join(runDir, 'dump.sql.gz'));
    expect(m.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(m.counts).toMatchObject({ tables: EXPECTED_COUNTS });
    const sql = gunzipSync(bytes).toString('utf8');
    expect(sql).not.toMatch(/^CREATE DATABASE|^USE /m);
  });

  it('restores into a database it creates, with identical table checksums', async () => {
    const runDir = stage(dumpDir, `${shell.name}-restore`, 'in.sql.gz');
    const into = `copy_${shell.name}`;

    const result = await runJob(shell, runDir, buildRestoreJob(myTarget(), runContext(runDir), { file: 'in.sql.gz', intoDatabase: into, overwrite: false }), {
      env: env(),
    });

    expect(readMarker(runDir)).toMatchObject({ ok: true, kind: 'restore' });
    expect(result.code).toBe(0);
    expect(await db.tableChecksums(into)).toEqual(original);
  });

  it('refuses a non-empty database without overwrite, and with overwrite restores the backed-up content', async () => {
    const into = `live_${shell.name}`;
    const runDir = stage(dumpDir, `${shell.name}-over`, 'in.sql.gz');
    const job = (overwrite: boolean) => buildRestoreJob(myTarget(), runContext(runDir), { file: 'in.sql.gz', intoDatabase: into, overwrite });
    await runJob(shell, runDir, job(false), { env: env() });
    await db.sql(into, "UPDATE customers SET name = 'changed'; DELETE FROM numbers WHERE n > 5;");
    const changed = await db.tableChecksums(into);

    const refused = await runJob(shell, runDir, job(false), { env: env() });
    expect(refused.code).toBe(1);
    expect(readMarker(runDir).steps.at(-1)).toEqual({ name: 'prepare', status: 1 });
    expect(await db.tableChecksums(into)).toEqual(changed);

    const result = await runJob(shell, runDir, job(true), { env: env() });
    expect(result.code).toBe(0);
    expect(await db.tableChecksums(into)).toEqual(original);
  });

  it('drills into a scratch database, counts rows like the dump did, and drops it', async () => {
    const runDir = stage(dumpDir, `${shell.name}-drill`, 'latest.sql.gz');
    const scratch = `shop_drill_${shell.name}`;

    const result = await runJob(shell, runDir, buildDrillJob(myTarget(), runContext(runDir), { file: 'latest.sql.gz', scratchDatabase: scratch }), {
      env: env(),
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.counts).toMatchObject({ tables: EXPECTED_COUNTS });
    expect(m.steps.at(-1)).toEqual({ name: 'drop', status: 0 });
    expect(await db.sql('', `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${scratch}'`)).toBe('0\n');
  });

  it('fails a drill of a truncated dump at its check and drops the scratch database', async () => {
    const runDir = join(work, `${shell.name}-baddrill`);
    mkdirSync(runDir, { recursive: true });
    const bytes = readFileSync(join(dumpDir, 'dump.sql.gz'));
    writeFileSync(join(runDir, 'latest.sql.gz'), bytes.subarray(0, bytes.length - 40));

    const result = await runJob(shell, runDir, buildDrillJob(myTarget(), runContext(runDir), { file: 'latest.sql.gz', scratchDatabase: 'scratch_bad' }), {
      env: env(),
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.find((s) => s.status !== 0)?.name).toBe('check');
    expect(m.steps.at(-1)).toEqual({ name: 'drop', status: 0 });
    expect(await db.tableChecksums('shop')).toEqual(original);
  });

  it.each([
    { case: 'a wrong password', env: { MARIADB_PASSWORD: 'wrong' }, target: {}, failing: 'source' },
    { case: 'a missing database', env: { MARIADB_PASSWORD: 'backup-pass' }, target: { database: 'nope' }, failing: 'source' },
  ])('writes ok=false at the $failing step and promotes nothing, given $case', async ({ case: name, env: e, target, failing }) => {
    const runDir = join(work, `${shell.name}-${name.replace(/\W+/g, '-')}`);

    const result = await runJob(shell, runDir, buildBackupJob(myTarget(target), runContext(runDir)), { env: e });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.ok).toBe(false);
    expect(m.steps.at(-1)?.name).toBe(failing);
    expect(m.file).toBeNull();
    expect(existsSync(join(runDir, 'dump.sql.gz'))).toBe(false);
  });

  it('fails the dump step when gzip fails even though mysqldump succeeded', async () => {
    const bin = tempDir('bad-gzip');
    writeFileSync(join(bin, 'gzip'), '#!/bin/sh\ncase $1 in -1) cat >/dev/null; exit 3;; esac\nexec /bin/gzip "$@"\n');
    chmodSync(join(bin, 'gzip'), 0o755);
    const runDir = join(work, `${shell.name}-badgzip`);

    const result = await runJob(shell, runDir, buildBackupJob(myTarget(), runContext(runDir)), { env: env(), path: [bin] });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.at(-1)).toEqual({ name: 'dump', status: 3 });
    expect(existsSync(join(runDir, 'dump.sql.gz'))).toBe(false);
  });
});
