import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { LOW_IO_LEVEL, LOW_NICE, PRIORITY_FUNCTIONS } from '../../functions/shared/core/scripts/priority.js';
import { readMarker, runContext } from '../helpers/job-run.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { runJob, runShell, shells, type Shell } from '../helpers/shells.js';

/** Prints this shell's nice value, then a child's, then the child's I/O class (as `ionice -p` prints it). */
const REPORT = `awk '{ print $19 }' /proc/$$/stat
sh -c 'awk "{ print \\$19 }" /proc/$$/stat'
ionice -p $$`;

function yieldScript(priority: 'low' | 'normal'): string {
  return `log() { printf '%s\\n' "$*" >&2; }\nPRIORITY=${priority}\n${PRIORITY_FUNCTIONS}${REPORT.split('\n')[0]}\nyield_priority\n${REPORT}\n`;
}

const work = mkdtempSync(join(tmpdir(), 'priority-'));
/** An image without renice and ionice: only the few tools the functions and the report use. */
const bareBin = join(work, 'bare-bin');

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(bareBin);
  symlinkSync(realpathSync('/usr/bin/awk'), join(bareBin, 'awk'));
});

/** Runs a script with PATH set to `path` alone (runShell always appends the system's directories). */
function runBare(shell: Shell, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...pre] = shell.argv as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(cmd === 'dash' ? '/usr/bin/dash' : '/usr/bin/busybox', [...pre, '-c', script], { env: { PATH: bareBin } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(shells())('job priority under $name', (shell) => {
  it('at low, renices the job so that what it starts runs at nice +10, in the lowest best-effort I/O class, and logs both', async () => {
    const r = await runShell(shell, ['-c', yieldScript('low')]);

    expect(r.code, r.stderr).toBe(0);
    const [before, after, child, io] = r.stdout.trim().split('\n');
    expect(Number(after)).toBe(Math.min(19, Number(before) + LOW_NICE));
    expect(child).toBe(after);
    expect(io).toBe(`best-effort: prio ${LOW_IO_LEVEL}`);
    expect(r.stderr).toContain(`priority low: CPU nice +${LOW_NICE} (renice); I/O best-effort ${LOW_IO_LEVEL} (ionice)`);
  });

  it('at normal, leaves the priority as it is and says so', async () => {
    const r = await runShell(shell, ['-c', yieldScript('normal')]);

    const [before, after] = r.stdout.trim().split('\n');
    expect(after).toBe(before);
    expect(r.stderr).toContain("priority normal: the job runs at the container's CPU and I/O priority");
  });

  it('in an image without renice and ionice, says so in the log and runs on at the same priority', async () => {
    const script = `log() { printf '%s\\n' "$*" >&2; }\nPRIORITY=low\n${PRIORITY_FUNCTIONS}awk '{ print $19 }' /proc/$$/stat\nyield_priority\nawk '{ print $19 }' /proc/$$/stat\necho went on`;
    const r = await runBare(shell, script);

    expect(r.code, r.stderr).toBe(0);
    const [before, after, last] = r.stdout.trim().split('\n');
    expect(after).toBe(before);
    expect(last).toBe('went on');
    expect(r.stderr).toContain('priority low: CPU priority unchanged: renice is not in this image; I/O priority unchanged: ionice is not in this image');
  });
});

describe('a postgres backup at priority low', () => {
  let pg: PostgresServer;

  beforeAll(async () => {
    pg = await startPostgres();
    await pg.createDatabase('app');
    await pg.psql('app', 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g;');
  });

  afterAll(async () => {
    await pg?.stop();
  });

  /** The nice value of the server process serving the job's pg_dump, read while the dump waits for a lock the test holds. */
  async function sessionNice(): Promise<number> {
    for (let i = 0; i < 100; i++) {
      const pid = (await pg.psql('postgres', "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'ecs-db-backup-dump-%'")).trim();
      if (pid !== '') {
        const nice = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
        if (nice > 0) return nice;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the server session of the job was never reniced');
  }

  it.each(shells())('under $name renices its own processes and the server session that formats the dump', async (shell) => {
    const target = targetSchema.parse({
      name: 'app-pg', engine: 'postgres', cluster: 'c', service: 's', container: 'postgres', database: 'app', user: 'postgres',
      passwordEnv: 'POSTGRES_PASSWORD', port: pg.port, backupDir: '/backup',
    });
    const runDir = join(work, `backup-${shell.name}`);
    // pg_dump waits for this lock, long enough for the job to find its session and for the test to read its nice value.
    const locker = spawn(`${PG_BIN}/psql`, ['-X', '-d', 'app', '-c', 'BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;'], { env: pg.env, stdio: 'ignore' });
    const lockerDone = new Promise((r) => locker.on('close', r));
    for (let i = 0; i < 50 && (await pg.psql('app', "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 't'::regclass")).trim() !== '1'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const job = runJob(shell, runDir, buildBackupJob(target, runContext(runDir)), { env: { POSTGRES_PASSWORD: pg.password }, path: [PG_BIN] });

    const nice = await sessionNice();
    const result = await job;
    await lockerDone;

    expect(result.code, result.log).toBe(0);
    expect(readMarker(runDir).ok).toBe(true);
    expect(nice).toBe(LOW_NICE);
    expect(result.log).toContain(`priority low: CPU nice +${LOW_NICE} (renice)`);
    expect(result.log).toMatch(new RegExp(`the server session of pg_dump \\(pid \\d+\\): CPU nice \\+${LOW_NICE}`));
  }, 60_000);

  it('at priority normal leaves the server session alone', async () => {
    const target = targetSchema.parse({
      name: 'app-pg', engine: 'postgres', cluster: 'c', service: 's', container: 'postgres', database: 'app', user: 'postgres',
      passwordEnv: 'POSTGRES_PASSWORD', port: pg.port, backupDir: '/backup', priority: 'normal',
    });
    const runDir = join(work, 'backup-normal');
    const result = await runJob(shells()[0]!, runDir, buildBackupJob(target, runContext(runDir)), { env: { POSTGRES_PASSWORD: pg.password }, path: [PG_BIN] });

    expect(result.code, result.log).toBe(0);
    expect(result.log).toContain('priority normal');
    expect(result.log).not.toContain('server session of pg_dump');
  });
});
