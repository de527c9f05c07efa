import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../helpers/exec.js';
import { startMariadb } from '../helpers/mariadb.js';
import { startPostgres } from '../helpers/postgres.js';
import { startRedis } from '../helpers/redis.js';
import { startAll } from '../helpers/start-all.js';

/**
 * `npm run demo` as a child process: the default demo with small data verifies every target and leaves
 * nothing running; with the live data changed after the backups every verification fails; Ctrl-C mid-run stops everything; --config backs up servers given in a config and
 * verifies them with drills without touching their data; bad input fails before anything starts.
 */

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<number>();
const scratch = mkdtempSync(join(tmpdir(), 'demo-test-'));

/** Runs the demo in its own process group; `interruptWhen` sends SIGINT to the demo once its stdout matches. */
function runDemo(args: string[], opts: { env?: NodeJS.ProcessEnv; interruptWhen?: RegExp } = {}): Promise<DemoRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child.pid!);
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (opts.interruptWhen && !interrupted && opts.interruptWhen.test(stdout)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child.pid!);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

afterEach(() => {
  // A demo still running when its test failed or timed out: its whole group goes.
  for (const pid of children) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The temp root the demo printed; asserts it and every process it named are gone (`swept`: killing leftovers, e.g. a dump job cut off by Ctrl-C, is allowed). */
function expectNothingLeft(run: DemoRun, swept = false): void {
  const root = /temp dir (\/\S+?)\)/.exec(run.stdout)?.[1];
  expect(root, run.stdout).toMatch(/ecs-db-demo-/);
  expect(existsSync(root!)).toBe(false);
  let running = '';
  try {
    running = execFileSync('pgrep', ['-af', root!]).toString();
  } catch {
    // pgrep exits 1 when nothing matches
  }
  expect(running).toBe('');
  const pids = [...run.stdout.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  if (!swept) expect(run.stderr).not.toMatch(/leftover/);
}

/** The summary table's rows: target → VERIFIED cell. */
function verified(stdout: string): Record<string, string> {
  const table = stdout.split('\nsummary\n')[1] ?? '';
  const rows: Record<string, string> = {};
  for (const line of table.split('\n').slice(1)) {
    const m = /^(\S+)\s+(postgres|redis|mariadb|mysql|mongodb)\s+\d+\s+\S+\s+\S+\s+\S+\s+(.+)$/.exec(line);
    if (m) rows[m[1]!] = m[3]!;
  }
  return rows;
}

describe('npm run demo', () => {
  it('backs up, restores and verifies every target, and leaves nothing running', async () => {
    const run = await runDemo(['--small']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^TARGET\s+ENGINE\s+BYTES\s+DUMP s\s+UPLOAD s\s+S3 KEY\s+VERIFIED$/m);
    expect(verified(run.stdout)).toEqual({ 'orders-pg': 'yes', 'sessions-redis': 'yes', 'shop-mariadb': 'yes' });
    expect(run.stdout).toMatch(/orders-pg\s+succeeded/);
    expect(run.stdout).toMatch(/DEBUG DIGEST live \w+…, restored \w+…: identical/);
    expect(run.stdout).toMatch(/tables of shop_restored compared with shop: identical/);
    expectNothingLeft(run);
  }, 150_000);

  it('fails every verification (exit 1) when the live databases changed after their backups (--tamper)', async () => {
    const run = await runDemo(['--small', '--tamper']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(verified(run.stdout)).toEqual({
      'orders-pg': 'no: table public.customers has different rows',
      'sessions-redis': expect.stringMatching(/^no: DEBUG DIGEST \w+… of the restore differs from the live \w+…$/),
      'shop-mariadb': 'no: table products has different rows',
    });
    expect(run.stdout).toContain('demo finished: 0 of 3 backups verified');
    expectNothingLeft(run);
  }, 150_000);

  it.each([
    ['while the dumps run', /- invocation 1/],
    ['while the fresh redis-server for the verification starts', /- a fresh redis-server on a copy/],
  ])('stops every server and removes its temp dir on Ctrl-C %s', async (_when, interruptWhen) => {
    const run = await runDemo(['--small'], { interruptWhen });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(130);
    expect(run.stderr).toContain('error: SIGINT: stopping everything the demo started');
    expect(run.stdout).not.toContain('\nsummary\n');
    expectNothingLeft(run, true);
  }, 150_000);
});

describe('npm run demo -- --config FILE', () => {
  const config = (targets: Record<string, unknown>[]) => {
    const path = join(scratch, `config-${targets.length}-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        region: 'eu-west-1',
        bucket: { name: 'my-local-backups' },
        vpcId: 'vpc-0a1b2c3d4e5f60718',
        subnetIds: ['subnet-0a1b2c3d4e5f60711'],
        efs: { fileSystemId: 'fs-0a1b2c3d4e5f60733', mountTargetSecurityGroupId: 'sg-0a1b2c3d4e5f60744' },
        targets,
      }),
    );
    return path;
  };

  it('backs up the servers the config names and verifies each by a drill, leaving their data as it was', async () => {
    const [pg, redis, maria] = await startAll([startPostgres(), startRedis({ password: 'r-secret' }), startMariadb()]);
    try {
      await pg.createDatabase('app');
      await pg.psql('app', 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 300) g;');
      await redis.cli('MSET', 'a', '1', 'b', 'ü');
      await maria.sql('', 'CREATE DATABASE shop');
      await maria.sql('shop', "CREATE TABLE p (id INT PRIMARY KEY, n VARCHAR(20)); INSERT INTO p VALUES (1, 'café'), (2, 'tea');");
      const before = { pg: await pg.tableChecksums('app'), redis: await redis.debugDigest(), maria: await maria.tableChecksums('shop') };
      const path = config([
        { name: 'app-pg', engine: 'postgres', cluster: 'prod', service: 'app-db', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'APP_PG_PASSWORD', port: pg.port, backupDir: '/backup' },
        { name: 'cache', engine: 'redis', cluster: 'prod', service: 'cache', container: 'redis', passwordEnv: 'CACHE_PASSWORD', port: redis.port, backupDir: '/data/backup' },
        { name: 'shop', engine: 'mariadb', cluster: 'shop', service: 'shop-db', container: 'mariadb', database: 'shop', user: 'backup', passwordEnv: 'SHOP_PASSWORD', port: maria.port, backupDir: '/backup' },
      ]);
      const run = await runDemo(['--config', path], { env: { ...process.env, APP_PG_PASSWORD: pg.password, CACHE_PASSWORD: 'r-secret', SHOP_PASSWORD: maria.password } });
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain('stand-in: cluster prod, service app-db, container postgres with APP_PG_PASSWORD from your environment');
      expect(verified(run.stdout)).toEqual({ 'app-pg': 'yes', cache: 'yes', shop: 'yes' });
      expect(run.stdout).toMatch(/s3:\/\/my-local-backups\/ecs-db-backup\//);
      expect(run.stdout).toMatch(/passed: restored counts match the manifest/);
      expectNothingLeft(run);
      expect({ pg: await pg.tableChecksums('app'), redis: await redis.debugDigest(), maria: await maria.tableChecksums('shop') }).toEqual(before);
      expect(await pg.psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'app_drill'")).toBe('0\n');
      expect(await maria.sql('', "SHOW DATABASES LIKE 'shop_drill'")).toBe('');
    } finally {
      await Promise.all([pg.stop(), redis.stop(), maria.stop()]);
    }
  }, 150_000);

  it('names the target and the variable when a secret variable is unset, before starting anything', async () => {
    const path = config([{ name: 'app-pg', engine: 'postgres', cluster: 'prod', service: 'app-db', container: 'postgres', database: 'app', passwordEnv: 'DEMO_TEST_UNSET_PW', backupDir: '/backup' }]);
    const env = { ...process.env };
    delete env.DEMO_TEST_UNSET_PW;
    const run = await runDemo(['--config', path], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: target "app-pg" reads its password from DEMO_TEST_UNSET_PW, which is not set: export DEMO_TEST_UNSET_PW=... before running the demo\n');
    expect(run.stdout).toBe('');
  });

  it('names the field of an invalid config', async () => {
    const path = config([{ name: 'Bad Name', engine: 'postgres', cluster: 'prod', service: 's', container: 'c', database: 'app', backupDir: '/backup' }]);
    const run = await runDemo(['--config', path]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: config file .* is invalid:\n {2}targets\[0\]\.name: must be 1-40 lowercase letters/);
  });
});

describe('bad command lines and missing binaries', () => {
  it.each([
    [['--bogus'], "error: unknown option '--bogus'"],
    [['extra'], "error: unexpected argument 'extra': the demo takes only options"],
  ])('rejects %j with a usage error (exit 2)', async (args, message) => {
    const run = await runDemo(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${message}\nusage: npm run demo [-- [--config FILE] [--small] [--tamper] [--help]]\n`);
  });

  it('names the command that installs a missing server binary (exit 1)', async () => {
    const run = await runDemo(['--small'], { env: { ...process.env, PATH: join(scratch, 'empty-path') } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: redis-server is not installed: run apt-get install -y redis-server (or: bash scripts/setup.sh)\n');
    expect(run.stderr).toContain('error: mariadbd is not installed: run apt-get install -y mariadb-server (or: bash scripts/setup.sh)\n');
    expect(run.stdout).toBe('');
  });
});
