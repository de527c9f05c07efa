import { existsSync, mkdirSync, mkdtempSync, readFileSync, copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { buildDrillJob } from '../../functions/shared/core/scripts/drill-job.js';
import { buildRestoreJob } from '../../functions/shared/core/scripts/restore-job.js';
import { readMarker, runContext } from '../helpers/job-run.js';
import { runJob, shells, type Shell } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * No MongoDB server can run here: the mongodb jobs run against the fake mongodump/mongorestore/mongosh of
 * test/helpers/fake-mongo, which check their arguments (and that no password is on them) and read/write a fake archive.
 */

const FAKE_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-mongo');
const PASSWORD = `p'a"s$s \\ w`;
const DATA = 'app.users:3 app.orders:5 other.logs:7';

function mongoTarget(overrides: Record<string, unknown> = {}): Target {
  return targetSchema.parse({
    name: 'docs', engine: 'mongodb', cluster: 'c', service: 's', container: 'mongo', database: 'app', user: 'root',
    passwordEnv: 'MONGO_INITDB_ROOT_PASSWORD', port: 27017, backupDir: '/backup', ...overrides,
  });
}

/** The fake tools' calls: one array per call, the tool name first. */
function calls(log: string): string[][] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\x1f')) : [];
}

// one directory for the file: later tests restore the archive the first backup test wrote
const work = tempDir('mongo-jobs');

async function run(shell: Shell, name: string, script: (runDir: string) => string, opts: { env?: NodeJS.ProcessEnv; stageFrom?: string; file?: string } = {}) {
  const runDir = join(mkdtempSync(join(work, `${shell.name}-`)), name);
  mkdirSync(runDir, { recursive: true });
  if (opts.stageFrom !== undefined) copyFileSync(opts.stageFrom, join(runDir, opts.file ?? 'in.archive.gz'));
  const log = join(runDir, '..', 'calls.log');
  const result = await runJob(shell, runDir, script(runDir), {
    env: { MONGO_INITDB_ROOT_PASSWORD: PASSWORD, FAKE_MONGO_LOG: log, FAKE_MONGO_DATA: DATA, ...opts.env },
    path: [FAKE_BIN],
  });
  return { runDir, result, log };
}

describe.each(shells())('mongodb jobs (fake tools) under $name', (shell) => {
  let archive: string;

  it('dumps with --archive --gzip --db, reads the archive back, and keeps the password off every command line', async () => {
    const { runDir, result, log } = await run(shell, 'backup', (d) => buildBackupJob(mongoTarget(), runContext(d)));
    archive = join(runDir, 'dump.archive.gz');

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.ok).toBe(true);
    expect(m.steps.map((s) => s.name)).toEqual(['secret', 'version', 'dump', 'check', 'promote', 'forget']);
    expect(m.file).toBe('dump.archive.gz');
    expect(m.toolVersion).toBe('mongodump version: 100.9.4-fake');
    expect(calls(log)).toEqual([
      ['mongodump', '--host=127.0.0.1', '--port=27017', '--config=.mongo-auth.yaml', '--username=root', '--authenticationDatabase=admin',
        '--archive=dump.archive.gz.tmp', '--gzip', '--db=app'],
      ['mongorestore', '--host=127.0.0.1', '--port=27017', '--config=.mongo-auth.yaml', '--username=root', '--authenticationDatabase=admin',
        '--archive=dump.archive.gz.tmp', '--gzip', '--dryRun'],
    ]);
    expect(readFileSync(`${log}.password`, 'utf8')).toBe(PASSWORD);
    expect(existsSync(join(runDir, '.mongo-auth.yaml'))).toBe(false);
  });

  it('dumps every database without --db and without auth arguments when the target has no user or password', async () => {
    const { runDir, log } = await run(shell, 'all', (d) => buildBackupJob(mongoTarget({ database: undefined, user: undefined, passwordEnv: undefined }), runContext(d)));

    expect(readMarker(runDir).ok).toBe(true);
    expect(calls(log)[0]).toEqual(['mongodump', '--host=127.0.0.1', '--port=27017', '--archive=dump.archive.gz.tmp', '--gzip']);
  });

  it('writes ok=false at the dump step and promotes nothing when mongodump fails', async () => {
    const { runDir, result } = await run(shell, 'fail', (d) => buildBackupJob(mongoTarget(), runContext(d)), { env: { FAKE_MONGO_FAIL: 'mongodump' } });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.find((s) => s.status !== 0)?.name).toBe('dump');
    expect(m.steps.at(-1)).toEqual({ name: 'forget', status: 0 });
    expect(existsSync(join(runDir, 'dump.archive.gz'))).toBe(false);
    expect(existsSync(join(runDir, '.mongo-auth.yaml'))).toBe(false);
  });

  it.each([
    { case: 'overwrite into the same database', opts: { overwrite: true }, extra: ['--drop'] },
    { case: 'no overwrite', opts: { overwrite: false }, extra: [] },
    { case: 'another database', opts: { overwrite: false, intoDatabase: 'copy' }, extra: ['--nsFrom=app.*', '--nsTo=copy.*'] },
  ])('restores with mongorestore --archive --gzip given $case', async ({ opts, extra }) => {
    const { runDir, result, log } = await run(shell, 'restore', (d) => buildRestoreJob(mongoTarget(), runContext(d), { file: 'in.archive.gz', ...opts }), {
      stageFrom: archive,
    });

    expect(result.code).toBe(0);
    expect(readMarker(runDir).ok).toBe(true);
    expect(calls(log)).toEqual([
      ['mongorestore', '--host=127.0.0.1', '--port=27017', '--config=.mongo-auth.yaml', '--username=root', '--authenticationDatabase=admin',
        '--archive=in.archive.gz', '--gzip', ...extra],
    ]);
  });

  it('drills into the scratch database, counts documents per collection, and drops the scratch database', async () => {
    const { runDir, result, log } = await run(shell, 'drill', (d) => buildDrillJob(mongoTarget(), runContext(d), { file: 'in.archive.gz', scratchDatabase: 'app_drill' }), {
      stageFrom: archive,
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.counts).toEqual({ tables: { users: 3, orders: 5 } });
    expect(calls(log).find((c) => c[0] === 'dropped')).toEqual(['dropped', 'app_drill', 'user=root', 'password=set']);
  });

  it('fails a drill of a truncated archive and still drops the scratch database', async () => {
    const bad = join(tempDir('bad-archive'), 'bad.gz');
    writeFileSync(bad, readFileSync(archive).subarray(0, 15));

    const { runDir, result, log } = await run(shell, 'baddrill', (d) => buildDrillJob(mongoTarget(), runContext(d), { file: 'in.archive.gz', scratchDatabase: 'app_drill' }), {
      stageFrom: bad,
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.find((s) => s.status !== 0)?.name).toBe('restore');
    expect(calls(log).some((c) => c[0] === 'dropped')).toBe(true);
  });
});
