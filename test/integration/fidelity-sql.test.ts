import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { containerEnv } from '../helpers/orchestrator-harness.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { runTool } from '../helpers/exec.js';
import { startRestoreHarness, type RestoreHarness } from '../helpers/restore-harness.js';
import { startAll } from '../helpers/start-all.js';

/**
 * The fidelity dataset of issue #11 (test/fixtures/fidelity/) through the built orchestrator and real servers:
 * inherited and partitioned tables, names with newlines, spaces and quotes, large objects (one empty), an ICU
 * locale and ALTER DATABASE … SET (PostgreSQL); a utf8mb4 database with a system-versioned table and a FLOAT column
 * (MariaDB). Backup → drill passes; restores --into and --overwrite exit 0 and equal the source (content, database
 * properties, schema); a drill of an archive whose content is not what was dumped fails naming the table.
 */

let w: RestoreHarness;
let pg: PostgresServer;
let maria: MariadbServer;
let s3: S3Client;

const PG = { name: 'pg', engine: 'postgres', service: 'postgres', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', drill: { schedule: '0 3 * * 0' } };
const SHOP = { name: 'shop', engine: 'mariadb', service: 'mariadb', container: 'mariadb', database: 'shop', user: 'backup', passwordEnv: 'DB_PASSWORD', drill: { schedule: '0 3 * * 0' } };
const fixture = (name: string) => readFileSync(new URL(`../fixtures/fidelity/${name}`, import.meta.url), 'utf8');
const sum = (runs: LambdaRun[], metric: string, target: string) => runs.reduce((n, r) => n + metricSum(r, metric, target), 0);

/** The database-level properties a restore must bring back. */
const PG_PROPS_SQL = (db: string) => `SELECT d.datlocprovider, d.daticulocale, d.datcollate, d.datctype, pg_get_userbyid(d.datdba), d.datacl::text,
  shobj_description(d.oid, 'pg_database'), (SELECT string_agg(array_to_string(s.setconfig, ';'), '|' ORDER BY s.setrole) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid),
  (SELECT 1) FROM pg_database d WHERE d.datname = '${db}'`;

async function pgSchema(db: string): Promise<string> {
  const out = await runTool(`${PG_BIN}/pg_dump`, ['-s', '-d', db], pg.env);
  return out.split('\n').filter((l) => !/^\\(un)?restrict /.test(l)).join('\n');
}

async function pgState(db: string) {
  return {
    tables: await pg.tableChecksums(db),
    props: await pg.psql('postgres', PG_PROPS_SQL(db)),
    order: await pg.psql(db, 'SELECT string_agg(w, \',\' ORDER BY w) FROM app.words'),
    schema: await pgSchema(db),
    sequence: await pg.psql(db, 'SELECT last_value FROM app."seq with space"'),
  };
}

async function mariaState(db: string) {
  const tables = (await maria.sql(db, 'SHOW TABLES')).split('\n').filter(Boolean).sort();
  const create: string[] = [];
  for (const t of tables) create.push((await maria.sql(db, `SHOW CREATE TABLE \`${t.replace(/`/g, '``')}\``)).split('\t').slice(1).join('\t'));
  return {
    tables,
    create,
    charset: await maria.sql('', `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${db}'`),
    history: await maria.sql(db, 'SELECT id, item, price FROM prices FOR SYSTEM_TIME ALL ORDER BY id, row_start'),
    rows: await maria.sql(db, "SELECT id, d, note FROM measures ORDER BY id; SELECT * FROM `odd ``name`` ✓` ORDER BY k"),
    floats: await maria.sql(db, 'SELECT CAST(f AS DOUBLE) FROM measures ORDER BY id'),
    routine: await maria.sql('', `SELECT ROUTINE_NAME, DATABASE_COLLATION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${db}'`),
  };
}

let pgSource: Awaited<ReturnType<typeof pgState>>;
let shopSource: Awaited<ReturnType<typeof mariaState>>;
let pgBackup: { key: string; versionId: string };
let shopBackup: { key: string; versionId: string };

beforeAll(async () => {
  [w, pg, maria] = await startAll([startRestoreHarness(), startPostgres(), startMariadb()]);
  await pg.psql('postgres', "CREATE DATABASE app LOCALE_PROVIDER icu ICU_LOCALE 'de-u-co-phonebk' LOCALE 'C.UTF-8' TEMPLATE template0");
  await pg.psql('app', fixture('postgres.sql'));
  await maria.sql('', 'CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
  await maria.sql('shop', fixture('mariadb.sql'));
  w.h.addService('postgres', { env: containerEnv({ DB_PASSWORD: pg.password }) });
  w.h.addService('mariadb', { env: containerEnv({ DB_PASSWORD: maria.password }), shell: 'busybox' });
  w.h.setTargets([{ ...PG, port: pg.port }, { ...SHOP, port: maria.port }]);
  w.writeConfig([PG, SHOP].map((t) => ({ ...t, host: '127.0.0.1', port: t.name === 'pg' ? pg.port : maria.port })));
  pgBackup = await w.backup('pg');
  shopBackup = await w.backup('shop');
  pgSource = await pgState('app');
  shopSource = await mariaState('shop');
  s3 = w.h.s3.newClient();
}, 300_000);

afterAll(async () => {
  s3?.destroy();
  await Promise.all([w?.stop(), pg?.stop(), maria?.stop()]);
});

describe('PostgreSQL fidelity', () => {
  it('records every table once, its own rows only, names with newlines included, with digests, sequences and large objects', async () => {
    const manifest = JSON.parse((await w.h.getObject(pgBackup.key.replace(/\.pgdump$/, '.json')))!.toString());
    expect(manifest.counts.tables).toEqual({
      'app.vehicles': 10, 'app.cars': 20, 'app.trucks': 15, 'app.events_2025': 213, 'app.events_2026': 187,
      'app."odd\nname ""q"""': 4, 'app.words': 5,
    });
    expect(Object.keys(manifest.counts.digests).sort()).toEqual(Object.keys(manifest.counts.tables).sort());
    expect(manifest.counts.sequences).toEqual({ 'app."odd\nname ""q""_id_seq"': '4,true', 'app."seq with space"': '101,true' });
    expect(manifest.counts.largeObjects).toMatchObject({ count: 2 });
  });

  it('passes a content drill and drops its scratch database', async () => {
    const runs: LambdaRun[] = [];
    const result = await w.untilDone({ action: 'drill', target: 'pg' }, runs);
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'succeeded' });
    expect(result.note).toMatch(/^restored content matches \(rows of 7 tables, row digests of 7 tables, 2 sequences, 2 large objects, restored = archive = dump time\)/);
    expect(sum(runs, 'RestoreDrillSuccess', 'pg')).toBe(1);
    expect(await pg.psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'app_drill'")).toBe('0\n');
  });

  it('restores --into another name with --verify: content, locale (sort order), owner, settings, comment, grants and schema equal the source', async () => {
    const { code, stdout, stderr } = await w.cli(['--target', 'pg', '--into', 'app_copy', '--verify']);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/verified: restored content matches/);
    expect(await pgState('app_copy')).toEqual(pgSource);
  });

  it('restores --overwrite over changed live data: exit 0, and the live database equals the backup again', async () => {
    await pg.psql('app', "UPDATE app.vehicles SET name = 'changed' WHERE id = 3; CREATE TABLE app.after_backup (x int); ALTER DATABASE app SET timezone = 'UTC';");
    const { code, stderr } = await w.cli(['--target', 'pg', '--overwrite', '--yes']);
    expect(code, stderr).toBe(0);
    expect(await pgState('app')).toEqual(pgSource);
  });

  it('fails a content drill of an archive whose rows are not what was dumped (manifest re-signed), naming the table', async () => {
    const manifestKey = pgBackup.key.replace(/\.pgdump$/, '.json');
    const good = JSON.parse((await w.h.getObject(manifestKey))!.toString());
    await pg.psql('app', "UPDATE app.cars SET name = 'tampered' WHERE id = 12");
    const second = await w.backup('pg');
    const tampered = await w.getObjectVersion(second.key, second.versionId);
    const put = await s3.send(new PutObjectCommand({ Bucket: w.h.s3.bucket, Key: pgBackup.key, Body: tampered }));
    const resigned = { ...good, objectVersionId: put.VersionId, size: tampered.length, sha256: createHash('sha256').update(tampered).digest('hex'), uploadedAt: new Date().toISOString() };
    await s3.send(new PutObjectCommand({ Bucket: w.h.s3.bucket, Key: manifestKey, Body: JSON.stringify(resigned) }));

    const runs: LambdaRun[] = [];
    const result = await w.untilDone({ action: 'drill', target: 'pg' }, runs);

    expect(result.outcome, JSON.stringify(result)).toBe('failed');
    expect(result.problems).toEqual([expect.stringMatching(/^table app\.cars: the archive holds rows with md5 \w+…, the dump recorded rows with md5 \w+…$/)]);
    expect(result.reason).toMatch(/^the restored data differs: table app\.cars: /);
    expect(sum(runs, 'RestoreDrillFailure', 'pg')).toBe(1);
  });
});

describe('MariaDB fidelity', () => {
  it('records charset, collation, history and the FLOAT column in the manifest', async () => {
    const manifest = JSON.parse((await w.h.getObject(shopBackup.key.replace(/\.sql\.gz$/, '.json')))!.toString());
    expect(manifest.counts).toMatchObject({
      tables: { prices: 5, measures: 2, 'odd `name` ✓': 2 },
      database: { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' },
      history: true,
      floatColumns: ['measures.f'],
    });
  });

  it('warns about the FLOAT column in the log of every backup', async () => {
    const runs: LambdaRun[] = [];
    let outcome = 'started';
    for (let i = 0; i < 60 && !['succeeded', 'failed'].includes(outcome); i++) {
      const run = await w.run({ action: 'backup', target: 'shop' });
      runs.push(run);
      outcome = (run.result as { results: { outcome: string }[] }).results[0]!.outcome;
      if (outcome !== 'succeeded') await new Promise((r) => setTimeout(r, 500));
    }
    expect(outcome).toBe('succeeded');
    expect(runs.flatMap((r) => r.logs).filter((l) => l.level === 'WARN' && /^FLOAT columns keep only about 6 significant digits/.test(l.message)).map((l) => l.message)).toEqual([
      'FLOAT columns keep only about 6 significant digits through the dump tool: measures.f; use DOUBLE or DECIMAL to keep every digit',
    ]);
  });

  it('passes a content drill with the history of the system-versioned table', async () => {
    const result = await w.untilDone({ action: 'drill', target: 'shop' });
    expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'succeeded' });
    expect(result.note).toMatch(/^restored content matches \(rows of 3 tables, row digests of 3 tables, charset and collation, restored = archive = dump time\); FLOAT columns keep about 6 significant digits/);
  });

  it.each([
    ['--into another name', ['--into', 'shop_copy', '--verify'], 'shop_copy'],
    ['--overwrite', ['--overwrite', '--yes'], 'shop'],
  ])('restores %s: exit 0, same charset, collation, history, SHOW CREATE and rows; FLOAT values keep 6 digits', async (_case, args, db) => {
    if (db === 'shop') await maria.sql('shop', "UPDATE measures SET note = 'changed' WHERE id = 1");
    const { code, stderr } = await w.cli(['--target', 'shop', ...args]);
    expect(code, stderr).toBe(0);
    const restored = await mariaState(db);
    expect({ ...restored, floats: '' }).toEqual({ ...shopSource, floats: '' });
    // The documented loss: mariadb-dump writes FLOAT with 6 significant digits.
    expect(shopSource.floats.split('\n')[0]).toBe('16777216');
    expect(restored.floats.split('\n')[0]).toBe('16777200');
  });
});
