import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import {
  CLUSTER,
  containerEnv,
  editRunJson,
  readRunJson,
  SCHEDULED_EVENT,
  startHarness,
  waitFor,
  type Harness,
} from '../helpers/orchestrator-harness.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Dump-side faults, each against the built orchestrator, a real PostgreSQL and the stand-in: the run
 * fails with one clear log line and a BackupFailure metric, its state is cleaned up, the failed slot
 * is not retried every hour, and the earlier backups in S3 stay exactly as they were.
 */

let h: Harness;
let pg: PostgresServer;

beforeAll(async () => {
  [h, pg] = await startAll([startHarness(), startPostgres()]);
  await pg.createDatabase('app');
  await pg.psql('app', `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;`);
}, 120_000);

afterAll(async () => {
  await Promise.all([h?.stop(), pg?.stop()]);
});

/** Sets up one target (and its service) whose container runs `pg_dump` as `behaviour` says, with a seeded week in S3. */
async function pgTarget(name: string, opts: { pgDump?: string; dumpTimeoutMinutes?: number } = {}) {
  const pathPrefix = opts.pgDump === undefined ? undefined : h.fakePgDump(opts.pgDump);
  const taskId = h.addService(name, { env: containerEnv({ DB_PASSWORD: pg.password }, pathPrefix) });
  h.setTargets([
    {
      name, engine: 'postgres', service: name, container: name, database: 'app', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port,
      ...(opts.dumpTimeoutMinutes ? { dumpTimeoutMinutes: opts.dumpTimeoutMinutes } : {}),
    },
  ]);
  const seeded = await h.seedWeek(name, 'pgdump');
  return { taskId, seeded };
}

function outcomeOf(run: LambdaRun): { target: string; outcome: string; reason?: string; runId?: string } {
  expect(run.error, run.stderr).toBeNull();
  return (run.result as { results: { target: string; outcome: string; reason?: string; runId?: string }[] }).results[0]!;
}

async function expectSeedIntact(seeded: Map<string, Buffer>) {
  for (const [key, body] of seeded) expect((await h.getObject(key))?.equals(body), key).toBe(true);
}

/** Asserts the failure's log line, metric and cleanup, and that the same slot is not retried. */
async function expectCleanFailure(name: string, run: LambdaRun, reason: RegExp, seeded: Map<string, Buffer>, runId: string) {
  const outcome = outcomeOf(run);
  expect(outcome).toMatchObject({ target: name, outcome: 'failed', runId });
  expect(outcome.reason).toMatch(reason);
  const errors = run.logs.filter((l) => l.level === 'ERROR');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ target: name, runId });
  expect(errors[0]!.message).toMatch(reason);
  expect(metricSum(run, 'BackupFailure', name)).toBe(1);
  expect(metricSum(run, 'BackupSuccess', name)).toBe(0);
  expect(await readRunJson(h.efsDir, name)).toBeNull();
  expect(existsSync(join(h.efsDir, name, runId))).toBe(false);
  const failure = JSON.parse(await readFile(join(h.efsDir, name, 'last-failure.json'), 'utf8')) as { runId: string; slot: string | null };
  expect(failure.runId).toBe(runId);
  expect(failure.slot).not.toBeNull();
  await expectSeedIntact(seeded);
  expect(outcomeOf(await h.run(SCHEDULED_EVENT))).toMatchObject({ outcome: 'idle', reason: 'failed-slot' });
}

/** Runs the scheduled invocation with the stand-in's faults on, and clears them afterwards. */
async function runWithFaults(faults: Parameters<Harness['standin']['setFaults']>[0]): Promise<LambdaRun> {
  h.standin.setFaults(faults);
  try {
    return await h.run(SCHEDULED_EVENT);
  } finally {
    h.standin.setFaults({});
  }
}

async function startDump(name: string): Promise<{ runId: string; pid: number }> {
  const started = outcomeOf(await h.run(SCHEDULED_EVENT));
  expect(started).toMatchObject({ target: name, outcome: 'started' });
  const record = (await readRunJson(h.efsDir, name))!;
  expect(record).toMatchObject({ phase: 'running', runId: started.runId });
  return { runId: started.runId!, pid: record.pid as number };
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`not a job pid: ${pid}`);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number): void {
  // Never 0 or 1: process.kill(-1) signals every process on the machine.
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to kill process group ${pid}`);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('a dump that fails', () => {
  it('fails the run when a step exits non-zero, and a manual event still runs the target', async () => {
    const { seeded } = await pgTarget('f-step', { pgDump: 'echo "pg_dump: error: connection refused" >&2; exit 3' });
    const { runId } = await startDump('f-step');
    await waitFor('the marker', async () => existsSync(join(h.efsDir, 'f-step', runId, 'done.gz')));
    const run = await h.run(SCHEDULED_EVENT);
    await expectCleanFailure('f-step', run, /step "[^"]+" exited with status [1-9]/, seeded, runId);
    expect(run.logs.find((l) => l.level === 'ERROR')?.stderrTail).toMatch(/connection refused/);
    expect(outcomeOf(await h.run({ action: 'backup', target: 'f-step' }))).toMatchObject({ outcome: 'started' });
  });

  it('fails the run when the dump process is killed mid-way', async () => {
    const { seeded } = await pgTarget('f-killed', { pgDump: `sleep 60; exec /usr/lib/postgresql/15/bin/pg_dump "$@"` });
    const { runId, pid } = await startDump('f-killed');
    expect(alive(pid)).toBe(true);
    killGroup(pid);
    await waitFor('the job to die', async () => !alive(pid));
    await expectCleanFailure('f-killed', await h.run(SCHEDULED_EVENT), /ended without writing its marker/, seeded, runId);
  });

  it('fails the run when the marker is corrupt', async () => {
    const { seeded } = await pgTarget('f-corrupt');
    const { runId } = await startDump('f-corrupt');
    const marker = join(h.efsDir, 'f-corrupt', runId, 'done.gz');
    await waitFor('the marker', async () => existsSync(marker));
    await writeFile(marker, Buffer.from('this is not gzip'));
    await expectCleanFailure('f-corrupt', await h.run(SCHEDULED_EVENT), /marker is corrupt/, seeded, runId);
  });

  it('fails and stops a dump that runs past dumpTimeoutMinutes', async () => {
    const { seeded } = await pgTarget('f-slow', { pgDump: `sleep 120; exec /usr/lib/postgresql/15/bin/pg_dump "$@"`, dumpTimeoutMinutes: 1 });
    const { runId, pid } = await startDump('f-slow');
    expect(outcomeOf(await h.run(SCHEDULED_EVENT))).toMatchObject({ outcome: 'waiting', runId });
    // Two minutes pass: the run's recorded start moves back instead of the test waiting.
    await editRunJson(h.efsDir, 'f-slow', (r) => {
      r.startedAt = new Date(Date.parse(String(r.startedAt)) - 120_000).toISOString();
    });
    await expectCleanFailure('f-slow', await h.run(SCHEDULED_EVENT), /no marker after 1 min/, seeded, runId);
    await waitFor('the orchestrator to stop the job', async () => !alive(pid), 10_000);
  });

  it('fails at once when the task is gone between start and poll', async () => {
    const { seeded, taskId } = await pgTarget('f-gone', { pgDump: `sleep 60; exec /usr/lib/postgresql/15/bin/pg_dump "$@"` });
    const { runId, pid } = await startDump('f-gone');
    h.standin.removeTask(CLUSTER, taskId);
    try {
      await expectCleanFailure('f-gone', await h.run(SCHEDULED_EVENT), /task [0-9a-z]+ stopped before the job wrote its marker/, seeded, runId);
    } finally {
      killGroup(pid);
    }
  });

  it('fails the start at once when the service has no running task', async () => {
    const { seeded, taskId } = await pgTarget('f-notask');
    h.standin.removeTask(CLUSTER, taskId);
    const run = await h.run(SCHEDULED_EVENT);
    const outcome = outcomeOf(run);
    expect(outcome.reason).toMatch(/could not start the dump: .*no RUNNING task/);
    await expectCleanFailure('f-notask', run, /no RUNNING task/, seeded, outcome.runId!);
  });
});

describe('ECS Exec trouble', () => {
  it('fails the start when ECS Exec cannot reach the agent after its retries', async () => {
    const { seeded } = await pgTarget('f-noagent');
    const run = await runWithFaults({ targetNotConnectedCalls: 100 });
    const outcome = outcomeOf(run);
    expect(outcome.reason).toMatch(/could not start the dump: /);
    await expectCleanFailure('f-noagent', run, /could not start the dump/, seeded, outcome.runId!);
  });

  it('fails the start when the session drops before the exit status, without launching again', async () => {
    const { seeded } = await pgTarget('f-drop');
    const run = await runWithFaults({ dropConnectionAfterFrames: 0 });
    const outcome = outcomeOf(run);
    // The wrapper may have started the job: a second launch could run two dumps, so the start is never retried.
    const execs = h.standin.calls.filter((c) => c.operation === 'ExecuteCommand' && JSON.stringify(c.input).includes('f-drop'));
    expect(execs).toHaveLength(1);
    await expectCleanFailure('f-drop', run, /could not start the dump: the command ended without printing its exit status/, seeded, outcome.runId!);
  });
});

describe('runs left behind', () => {
  it('cleans up a run whose invocation died while starting it, and starts afresh', async () => {
    await pgTarget('f-stale');
    const stale = {
      version: 1, kind: 'backup', runId: '20260101T000000Z-dead00', target: 'f-stale', phase: 'starting',
      createdAt: new Date(Date.now() - 20 * 60_000).toISOString(), slot: null, startedAt: null, task: null, pid: null,
      uploadAttempts: 0, lastError: null,
    };
    await writeFile(join(h.efsDir, 'f-stale', 'run.json'), JSON.stringify(stale)).catch(async () => {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(h.efsDir, 'f-stale'), { recursive: true });
      await writeFile(join(h.efsDir, 'f-stale', 'run.json'), JSON.stringify(stale));
    });
    const run = await h.run(SCHEDULED_EVENT);
    const outcome = outcomeOf(run);
    expect(outcome.outcome).toBe('started');
    expect(outcome.runId).not.toBe(stale.runId);
    expect(run.logs.some((l) => l.message === 'cleaning up an abandoned run' && l.runId === stale.runId)).toBe(true);
  });

  it("answers a probe for a file the container wrote to its target's directory", async () => {
    await pgTarget('f-probe');
    await mkdir(join(h.efsDir, 'f-probe'), { recursive: true });
    await writeFile(join(h.efsDir, 'f-probe', '.probe-abc123'), 'hello from the container\n');
    const found = await h.run({ action: 'probe', target: 'f-probe', file: '.probe-abc123', expect: 'hello from the container' });
    expect(found.result).toEqual({ action: 'probe', ok: true, found: true, content: 'hello from the container\n' });
    const missing = await h.run({ action: 'probe', target: 'f-probe', file: '.probe-nothere' });
    expect(missing.result).toEqual({ action: 'probe', ok: false, found: false, content: null });
    const bad = await h.run({ action: 'probe', target: 'f-probe', file: '../etc/passwd' });
    expect(bad.error?.message).toMatch(/probe file name/);
  });
});
