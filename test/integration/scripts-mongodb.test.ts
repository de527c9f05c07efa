import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
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
 * test/helpers/fake-mongo, which check their arguments (and that no password is on them), write and read archives in
 * mongodump's real format, and run mongosh scripts under Node.js (which mongosh embeds) against a fake server.
 */

const FAKE_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-mongo');
const PASSWORD = `p'a"s$s \\ w`;
const DATA = 'app.users:3 app.orders:5 app.active:view other.logs:7';
const READER = ['mongosh', '--nodb', '--quiet', '--norc', '--eval', 'require(process.env.MG_READER)'];

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

type RunOpts = { env?: NodeJS.ProcessEnv; stageFrom?: string; file?: string; onSpawn?: (pid: number) => void };

async function run(shell: Shell, name: string, script: (runDir: string) => string, opts: RunOpts = {}) {
  const runDir = join(mkdtempSync(join(work, `${shell.name}-`)), name);
  mkdirSync(runDir, { recursive: true });
  // The job's private directory goes under TMPDIR: a directory of the test's own, to see that it is gone afterwards.
  const tmp = join(runDir, '..', 'tmp');
  mkdirSync(tmp);
  if (opts.stageFrom !== undefined) copyFileSync(opts.stageFrom, join(runDir, opts.file ?? 'in.archive.gz'));
  const log = join(runDir, '..', 'calls.log');
  const result = await runJob(shell, runDir, script(runDir), {
    env: { MONGO_INITDB_ROOT_PASSWORD: PASSWORD, FAKE_MONGO_LOG: log, FAKE_MONGO_DATA: DATA, TMPDIR: tmp, ...opts.env },
    path: [FAKE_BIN],
    ...(opts.onSpawn ? { onSpawn: opts.onSpawn, detached: true } : {}),
  });
  return { runDir, result, log, tmp };
}

/** Where the tools found the password file: an absolute path outside the run directory, in a directory of mode 700. */
function expectPrivateAuthFile(log: string, runDir: string, tmp: string): void {
  const auth = calls(log).filter((c) => c[0] === 'auth');
  expect(auth.length).toBeGreaterThan(0);
  for (const [, path, mode] of auth) {
    expect(isAbsolute(path!)).toBe(true);
    expect(path!.startsWith(`${tmp}/`)).toBe(true);
    expect(mode).toBe('drwx------');
  }
  expect(readdirSync(tmp)).toEqual([]);
  expect(readdirSync(runDir).filter((f) => /auth|yaml|fifo/.test(f))).toEqual([]);
}

describe.each(shells())('mongodb jobs (fake tools) under $name', (shell) => {
  let archive: string;

  it('dumps with --archive --gzip --db, reads the whole archive back, counts its documents, and keeps the password off every command line and EFS', async () => {
    const { runDir, result, log, tmp } = await run(shell, 'backup', (d) => buildBackupJob(mongoTarget(), runContext(d)));
    archive = join(runDir, 'dump.archive.gz');

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.ok).toBe(true);
    expect(m.steps.map((s) => s.name)).toEqual(['secret', 'version', 'dump', 'check', 'promote', 'forget']);
    expect(m.file).toBe('dump.archive.gz');
    expect(m.toolVersion).toBe('mongodump version: 100.9.4-fake');
    // the view holds no documents and is not counted; other.logs is not in the dumped database
    expect(m.counts).toEqual({ collections: { 'app.users': 3, 'app.orders': 5 } });
    const [dump, , reader] = calls(log);
    expect(dump).toEqual([
      'mongodump', '--host=127.0.0.1', '--port=27017', expect.stringMatching(/^--config=\/.*\/auth\.yaml$/), '--username=root', '--authenticationDatabase=admin',
      '--archive=dump.archive.gz.tmp', '--gzip', '--db=app',
    ]);
    expect(reader).toEqual(READER);
    expect(readFileSync(`${log}.password`, 'utf8')).toBe(PASSWORD);
    expect(m.stderrTail).toMatch(/read the whole archive: \d+ bytes, 3 namespaces, 8 documents, every CRC-64 as mongodump wrote it/);
    expectPrivateAuthFile(log, runDir, tmp);
  });

  it('dumps every database without --db and without auth arguments when the target has no user or password', async () => {
    const { runDir, log } = await run(shell, 'all', (d) => buildBackupJob(mongoTarget({ database: undefined, user: undefined, passwordEnv: undefined }), runContext(d)));

    const m = readMarker(runDir);
    expect(m.ok).toBe(true);
    expect(m.counts).toEqual({ collections: { 'app.users': 3, 'app.orders': 5, 'other.logs': 7 } });
    expect(calls(log)[0]).toEqual(['mongodump', '--host=127.0.0.1', '--port=27017', '--archive=dump.archive.gz.tmp', '--gzip']);
  });

  it('writes ok=false at the dump step and promotes nothing when mongodump fails', async () => {
    const { runDir, result, log, tmp } = await run(shell, 'fail', (d) => buildBackupJob(mongoTarget(), runContext(d)), { env: { FAKE_MONGO_FAIL: 'mongodump' } });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.find((s) => s.status !== 0)?.name).toBe('dump');
    expect(m.steps.at(-1)).toEqual({ name: 'forget', status: 0 });
    expect(existsSync(join(runDir, 'dump.archive.gz'))).toBe(false);
    expectPrivateAuthFile(log, runDir, tmp);
  });

  it.each([
    { damage: 'crc', error: /CRC mismatch for app\.users/ },
    { damage: 'truncate', error: /the archive is truncated/ },
    { damage: 'gzip', error: /gzip -dc dump\.archive\.gz\.tmp failed: the compressed stream is damaged/ },
  ])('fails the check and promotes nothing when the archive is damaged ($damage), which mongorestore --dryRun lets pass', async ({ damage, error }) => {
    const { runDir, result } = await run(shell, `damaged-${damage}`, (d) => buildBackupJob(mongoTarget(), runContext(d)), { env: { FAKE_MONGO_CORRUPT: damage } });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.find((s) => s.status !== 0)?.name).toBe('check');
    expect(m.counts).toBeNull();
    expect(m.stderrTail).toMatch(error);
    expect(existsSync(join(runDir, 'dump.archive.gz'))).toBe(false);
    expect(existsSync(join(runDir, 'dump.archive.gz.tmp'))).toBe(false);
  });

  it('removes the private directory with the password file when the job is terminated mid-dump', async () => {
    let pid = 0;
    const running = run(shell, 'term', (d) => buildBackupJob(mongoTarget(), runContext(d)), { env: { FAKE_MONGO_SLEEP: '30' }, onSpawn: (p) => (pid = p) });
    const log = () => join(readlinkSync(`/proc/${pid}/cwd`), '..', 'calls.log');
    // TERM once mongodump holds the password file; the job and its children get it, as when the orchestrator stops a job
    for (let i = 0; pid === 0 || !calls(log()).some((c) => c[0] === 'auth'); i++) {
      if (i > 400) throw new Error('mongodump never started');
      await new Promise((r) => setTimeout(r, 25));
    }
    process.kill(-pid, 'SIGTERM');
    const { runDir, result, tmp } = await running;

    const m = readMarker(runDir);
    expect(result.code).toBe(143);
    expect(m.steps.map((s) => s.name)).toContain('signal');
    expect(readdirSync(tmp)).toEqual([]);
    // the password as it is, or as the YAML config file quotes it
    const forms = [PASSWORD, PASSWORD.replace(/'/g, "''")];
    expect(readdirSync(runDir).filter((f) => forms.some((p) => readFileSync(join(runDir, f)).includes(p)))).toEqual([]);
  });

  it.each([
    { case: 'overwrite into the same database', opts: { overwrite: true }, data: DATA, extra: ['--drop'] },
    { case: 'no overwrite, into a database the server does not have', opts: { overwrite: false }, data: 'other.logs:7', extra: [] },
    { case: 'no overwrite, into another (empty) database', opts: { overwrite: false, intoDatabase: 'copy' }, data: DATA, extra: ['--nsFrom=app.*', '--nsTo=copy.*'] },
  ])('reads the archive, then restores with mongorestore --archive --gzip given $case', async ({ opts, data, extra }) => {
    const { runDir, result, log, tmp } = await run(shell, 'restore', (d) => buildRestoreJob(mongoTarget(), runContext(d), { file: 'in.archive.gz', ...opts }), {
      stageFrom: archive,
      env: { FAKE_MONGO_DATA: data },
    });

    expect(result.code).toBe(0);
    expect(readMarker(runDir).ok).toBe(true);
    const tools = calls(log).filter((c) => c[0] !== 'auth');
    expect(tools[0]).toEqual(READER);
    expect(tools.at(-1)).toEqual([
      'mongorestore', '--host=127.0.0.1', '--port=27017', expect.stringMatching(/^--config=\/.*\/auth\.yaml$/), '--username=root', '--authenticationDatabase=admin',
      '--archive=in.archive.gz', '--gzip', ...extra,
    ]);
    expect(tools).toHaveLength(opts.overwrite ? 2 : 3);
    expectPrivateAuthFile(log, runDir, tmp);
  });

  it('refuses a restore without overwrite into a database that holds collections, and restores nothing', async () => {
    const { runDir, result, log } = await run(shell, 'merge', (d) => buildRestoreJob(mongoTarget(), runContext(d), { file: 'in.archive.gz', overwrite: false }), {
      stageFrom: archive,
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(1);
    expect(m.steps.at(-2)).toEqual({ name: 'check', status: 1 });
    expect(m.note).toBe(
      'Nothing restored: without overwrite, a restore only goes into empty databases, and these hold collections already: {"app":["users","orders","active"]}. ' +
        'Restore into another database (intoDatabase), or with overwrite (mongorestore --drop replaces the collections the backup has).',
    );
    expect(calls(log).some((c) => c[0] === 'mongorestore')).toBe(false);
  });

  it('refuses to restore a damaged archive before anything reaches the server', async () => {
    const bad = join(tempDir('bad-archive'), 'bad.gz');
    writeFileSync(bad, readFileSync(archive).subarray(0, readFileSync(archive).length - 12));

    const { runDir, result, log } = await run(shell, 'badrestore', (d) => buildRestoreJob(mongoTarget(), runContext(d), { file: 'in.archive.gz', overwrite: true }), {
      stageFrom: bad,
    });

    expect(result.code).toBe(1);
    expect(readMarker(runDir).steps.find((s) => s.status !== 0)?.name).toBe('check');
    expect(calls(log).some((c) => c[0] === 'mongorestore')).toBe(false);
  });

  it('drills into the scratch database, counts documents per collection under their source names, and drops the scratch database', async () => {
    const { runDir, result, log } = await run(shell, 'drill', (d) => buildDrillJob(mongoTarget(), runContext(d), { file: 'in.archive.gz', scratchDatabase: 'app_drill' }), {
      stageFrom: archive,
    });

    const m = readMarker(runDir);
    expect(result.code).toBe(0);
    expect(m.counts).toEqual({ collections: { 'app.users': 3, 'app.orders': 5 } });
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
