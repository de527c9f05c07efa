import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../functions/shared/core/marker.js';
import { s3Operation } from '../helpers/faulty-proxy.js';
import { metricSum, type LambdaRun } from '../helpers/lambda-runner.js';
import { containerEnv, KEY_PREFIX, readRunJson, SCHEDULED_EVENT, startHarness, waitFor, type Harness } from '../helpers/orchestrator-harness.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { slowEfsEnv } from '../helpers/slow-efs.js';
import { startAll } from '../helpers/start-all.js';

/**
 * Upload-side behaviour of the built orchestrator: overlapping invocations, a Lambda killed
 * mid-upload, S3 errors and a dump that changed after its marker. Earlier backups stay untouched.
 */

let h: Harness;
let pg: PostgresServer;
/** The product's part size: one chunk of the job's chunk list. */
const PART = CHUNK_BYTES;

beforeAll(async () => {
  [h, pg] = await startAll([startHarness(), startPostgres()]);
  await pg.createDatabase('app');
  await pg.psql('app', `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;`);
  // About 40 MiB after pg_dump -Z1 (random hex compresses to roughly half): more 8 MiB parts than are in flight at once.
  await pg.createDatabase('big');
  await pg.psql('big', `CREATE TABLE blob (id int, v text); INSERT INTO blob SELECT g, md5(random()::text) || md5(random()::text) FROM generate_series(1, 1200000) g;`);
}, 180_000);

afterAll(async () => {
  await Promise.all([h?.stop(), pg?.stop()]);
});

async function pgTarget(name: string, database = 'app') {
  h.addService(name, { env: containerEnv({ DB_PASSWORD: pg.password }) });
  h.setTargets([{ name, engine: 'postgres', service: name, container: name, database, user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port }]);
  return h.seedWeek(name, 'pgdump');
}

type Outcome = { target: string; outcome: string; reason?: string; runId?: string; key?: string };
function outcomeOf(run: LambdaRun): Outcome {
  expect(run.error, run.stderr).toBeNull();
  return (run.result as { results: Outcome[] }).results[0]!;
}

async function expectUntouched(seeded: Map<string, Buffer>, except: string[] = []) {
  for (const [key, body] of seeded) {
    if (!except.includes(key)) expect((await h.getObject(key))?.equals(body), key).toBe(true);
  }
}

/** Starts a dump and waits until its marker is on EFS; returns the run id and the dump file's path. */
async function dumpReady(name: string): Promise<{ runId: string; dumpPath: string }> {
  const started = outcomeOf(await h.run(SCHEDULED_EVENT));
  expect(started.outcome).toBe('started');
  const runId = started.runId!;
  await waitFor('the marker', async () => existsSync(join(h.efsDir, name, runId, 'done.gz')), 60_000);
  return { runId, dumpPath: join(h.efsDir, name, runId, 'dump.pgdump') };
}

const opsFor = (key: string, op: string) => h.proxy.seen.filter((s) => s.url.includes(encodeURI(key).replace(/^\//, '')) && s.verdict === 'pass' && opOf(s) === op).length;
function opOf(s: { method: string; url: string }): string {
  const url = new URL(s.url, 'http://x');
  return s3Operation({ method: s.method, url: s.url, query: url.searchParams });
}

describe('overlapping invocations', () => {
  it('start one dump between them', async () => {
    const seeded = await pgTarget('u-twice');
    const [a, b] = await Promise.all([h.run(SCHEDULED_EVENT), h.run(SCHEDULED_EVENT)]);
    const outcomes = [outcomeOf(a), outcomeOf(b)].map((o) => o.outcome).sort();
    expect(outcomes).toEqual(['busy', 'started']);
    const runId = [outcomeOf(a), outcomeOf(b)].find((o) => o.outcome === 'started')!.runId!;
    const execs = h.standin.calls.filter((c) => c.operation === 'ExecuteCommand' && JSON.stringify(c.input).includes('u-twice'));
    expect(execs).toHaveLength(1);
    await waitFor('the marker', async () => existsSync(join(h.efsDir, 'u-twice', runId, 'done.gz')));
    const done = outcomeOf(await h.run(SCHEDULED_EVENT));
    expect(done).toMatchObject({ outcome: 'succeeded', runId });
    expect(opsFor(done.key!, 'CompleteMultipartUpload')).toBe(1);
    await expectUntouched(seeded, [done.key!, done.key!.replace(/\.pgdump$/, '.json')]);
  });
});

describe('a dump still being written', () => {
  it('has its whole parts sent by the invocations that find it running, and only the rest after done.gz', async () => {
    const name = 'u-early';
    // The real pg_dump, whose output stops after 17 MiB (two whole 8 MiB parts) until the test releases it.
    const slowPgDump = h.fakePgDump(
      `f=.full-dump; "${PG_BIN}/pg_dump" "$@" >"$f" || exit $?\nhead -c 17825792 "$f"\n` +
        `while [ ! -e release ]; do sleep 0.2; done\ntail -c +17825793 "$f"; rm -f "$f"`,
    );
    h.addService(name, { env: containerEnv({ DB_PASSWORD: pg.password }, slowPgDump) });
    h.setTargets([{ name, engine: 'postgres', service: name, container: name, database: 'big', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port }]);
    const started = outcomeOf(await h.run(SCHEDULED_EVENT));
    const runDir = join(h.efsDir, name, started.runId!);
    await waitFor('17 MiB of the dump', async () => ((await readFile(join(runDir, 'dump.pgdump.tmp')).catch(() => null))?.length ?? 0) >= 17825792, 60_000);

    const during = await h.run(SCHEDULED_EVENT);
    await writeFile(join(runDir, 'release'), '');
    await waitFor('the marker', async () => existsSync(join(runDir, 'done.gz')), 60_000);
    const dump = await readFile(join(runDir, 'dump.pgdump'));
    const after = await h.run(SCHEDULED_EVENT);

    expect(outcomeOf(during)).toMatchObject({ outcome: 'waiting', runId: started.runId });
    expect(during.logs.find((l) => l.message === 'parts of the growing dump sent early')).toMatchObject({ parts: 2 });
    const done = outcomeOf(after);
    expect(done).toMatchObject({ outcome: 'succeeded', runId: started.runId });
    expect(after.logs.find((l) => l.message === 'dump uploaded')).toMatchObject({ resumed: true, parts: Math.ceil(dump.length / PART), chunkList: true });
    expect(opsFor(done.key!, 'UploadPart')).toBe(Math.ceil(dump.length / PART));
    expect(opsFor(done.key!, 'CreateMultipartUpload')).toBe(1);
    expect((await h.getObject(done.key!))!.equals(dump)).toBe(true);
  });
});

describe('a dump that fails after parts of it were sent', () => {
  it('aborts the upload and leaves the earlier backup at the weekday key', async () => {
    const name = 'u-early-fail';
    const failingPgDump = h.fakePgDump(`head -c 17825792 /dev/urandom\nwhile [ ! -e release ]; do sleep 0.2; done\nexit 3`);
    h.addService(name, { env: containerEnv({ DB_PASSWORD: pg.password }, failingPgDump) });
    h.setTargets([{ name, engine: 'postgres', service: name, container: name, database: 'big', user: 'postgres', passwordEnv: 'DB_PASSWORD', port: pg.port }]);
    const seeded = await h.seedWeek(name, 'pgdump');
    const started = outcomeOf(await h.run(SCHEDULED_EVENT));
    const runDir = join(h.efsDir, name, started.runId!);
    await waitFor('17 MiB of the dump', async () => ((await readFile(join(runDir, 'dump.pgdump.tmp')).catch(() => null))?.length ?? 0) >= 17825792, 60_000);
    const during = await h.run(SCHEDULED_EVENT);
    const key = `${KEY_PREFIX}${name}/`;
    await writeFile(join(runDir, 'release'), '');
    await waitFor('the marker', async () => existsSync(join(runDir, 'done.gz')), 60_000);

    const after = outcomeOf(await h.run(SCHEDULED_EVENT));

    expect(during.logs.find((l) => l.message === 'parts of the growing dump sent early')).toMatchObject({ parts: 2 });
    expect(after).toMatchObject({ outcome: 'failed', runId: started.runId });
    const sent = h.proxy.seen.filter((r) => r.url.includes(encodeURI(key)) && r.verdict === 'pass');
    expect(sent.filter((r) => opOf(r) === 'UploadPart')).toHaveLength(2);
    expect(sent.filter((r) => opOf(r) === 'AbortMultipartUpload')).toHaveLength(1);
    expect(sent.filter((r) => opOf(r) === 'CompleteMultipartUpload')).toHaveLength(0);
    await expectUntouched(seeded);
  });
});

describe('a Lambda killed mid-upload', () => {
  it('is resumed by the next invocation into a byte-identical object with one completed upload', async () => {
    const seeded = await pgTarget('u-resume', 'big');
    const { runId, dumpPath } = await dumpReady('u-resume');
    const dump = await readFile(dumpPath);
    expect(dump.length).toBeGreaterThan(3 * PART);
    h.proxy.setRule((req) => (s3Operation(req) === 'UploadPart' ? { delayMs: 1500 } : 'pass'));
    const running = h.invoke(SCHEDULED_EVENT);
    const progress = join(h.efsDir, 'u-resume', runId, 'upload.json');
    await waitFor('a finished part', async () => {
      const text = await readFile(progress, 'utf8').catch(() => '');
      return text !== '' && (JSON.parse(text) as { parts: unknown[] }).parts.length >= 1;
    });
    running.child.kill('SIGKILL');
    const killed = await running.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(await readRunJson(h.efsDir, 'u-resume')).toMatchObject({ phase: 'uploading', runId });
    h.proxy.setRule(() => 'pass');
    // Until the killed Lambda's time would have run out, its lease keeps other invocations off the run.
    expect(outcomeOf(await h.run(SCHEDULED_EVENT))).toMatchObject({ outcome: 'busy', runId });
    await writeFile(join(h.efsDir, 'u-resume', 'lease.json'), JSON.stringify({ runId, until: new Date(Date.now() - 1000).toISOString() }));

    const resumed = await h.run(SCHEDULED_EVENT);
    const outcome = outcomeOf(resumed);
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ outcome: 'succeeded', runId });
    expect(resumed.logs.find((l) => l.message === 'dump uploaded')).toMatchObject({ resumed: true });
    expect((await h.getObject(outcome.key!))!.equals(dump)).toBe(true);
    expect(opsFor(outcome.key!, 'CreateMultipartUpload')).toBe(1);
    expect(opsFor(outcome.key!, 'CompleteMultipartUpload')).toBe(1);
    expect(await h.s3.openUploads()).toEqual([]);
    expect(metricSum(resumed, 'BackupSuccess', 'u-resume')).toBe(1);
    await expectUntouched(seeded, [outcome.key!, outcome.key!.replace(/\.pgdump$/, '.json')]);
  });
});

describe('the invocation deadline', () => {
  it('pauses an upload, and the next invocation finishes it without sending parts twice', async () => {
    const seeded = await pgTarget('u-pause', 'big');
    const { runId, dumpPath } = await dumpReady('u-pause');
    const dump = await readFile(dumpPath);
    h.proxy.setRule((req) => (s3Operation(req) === 'UploadPart' ? { delayMs: 1000 } : 'pass'));
    // 45 s of safety margin + 0.5 s: the deadline passes while the first parts are in flight.
    const paused = await h.run(SCHEDULED_EVENT, { remainingMs: 45_500 });
    h.proxy.setRule(() => 'pass');
    expect(outcomeOf(paused)).toMatchObject({ outcome: 'uploading', runId });
    expect(outcomeOf(paused).reason).toMatch(/^\d+\/\d+ parts$/);
    expect(paused.logs.find((l) => l.message === 'upload paused at the invocation deadline')).toBeDefined();
    const partsBefore = h.proxy.seen.filter((s) => opOf(s) === 'UploadPart' && s.url.includes('u-pause')).length;

    const finished = await h.run(SCHEDULED_EVENT);
    const outcome = outcomeOf(finished);
    expect(outcome).toMatchObject({ outcome: 'succeeded', runId });
    const partsTotal = Math.ceil(dump.length / PART);
    const partsSent = h.proxy.seen.filter((s) => opOf(s) === 'UploadPart' && s.url.includes('u-pause')).length;
    expect(partsSent).toBe(partsTotal);
    expect(partsBefore).toBeLessThan(partsTotal);
    expect((await h.getObject(outcome.key!))!.equals(dump)).toBe(true);
    await expectUntouched(seeded, [outcome.key!, outcome.key!.replace(/\.pgdump$/, '.json')]);
  });
});

/** Lets the next invocation work on a run whose Lambda was killed (its lease would hold until its time ran out). */
const expireLease = (name: string, runId: string) =>
  writeFile(join(h.efsDir, name, 'lease.json'), JSON.stringify({ runId, until: new Date(Date.now() - 1000).toISOString() }));

describe('an upload whose sent parts take longer to read again than an invocation has (issue #12 item 4)', () => {
  it('gets further in every invocation, never reading a sent part again, and finishes', async () => {
    const seeded = await pgTarget('u-stall', 'big');
    const { runId, dumpPath } = await dumpReady('u-stall');
    const dump = await readFile(dumpPath);
    const partsTotal = Math.ceil(dump.length / PART);
    // The first invocation sends a part or more, slowly, and is killed at its timeout with the rest still to send.
    h.proxy.setRule((req) => (s3Operation(req) === 'UploadPart' ? { delayMs: 1500 } : 'pass'));
    const progressPath = join(h.efsDir, 'u-stall', runId, 'upload.json');
    const running = h.invoke(SCHEDULED_EVENT);
    await waitFor('a part sent', async () => ((JSON.parse(await readFile(progressPath, 'utf8').catch(() => '{"parts":[]}')) as { parts: unknown[] }).parts.length > 0));
    running.child.kill('SIGKILL');
    await running.done;
    h.proxy.setRule(() => 'pass');
    await expireLease('u-stall', runId);
    const sent = (JSON.parse(await readFile(progressPath, 'utf8')) as { parts: { PartNumber: number }[] }).parts.length;
    expect(sent).toBeLessThan(partsTotal);
    const partsBefore = h.proxy.seen.filter((r) => opOf(r) === 'UploadPart' && r.url.includes('u-stall')).length;
    // From now on each read of the parts already sent takes longer than an invocation has (a throttled EFS).
    const env = slowEfsEnv({ match: /\/u-stall\/.*\/dump\.pgdump$/, belowBytes: sent * PART, delayMs: 6000 });

    const later: Outcome[] = [];
    while (later.length < 2 && later.at(-1)?.outcome !== 'succeeded') later.push(outcomeOf(await h.run(SCHEDULED_EVENT, { env, remainingMs: 45_000 + 4000 })));

    expect(later.at(-1)).toMatchObject({ outcome: 'succeeded', runId });
    // The parts the killed invocation had in flight were not recorded, so they are sent again; nothing recorded is.
    const partsAfter = h.proxy.seen.filter((r) => opOf(r) === 'UploadPart' && r.url.includes('u-stall')).length - partsBefore;
    expect(partsAfter).toBe(partsTotal - sent);
    expect((await h.getObject(later.at(-1)!.key!))!.equals(dump)).toBe(true);
    await expectUntouched(seeded, [later.at(-1)!.key!, later.at(-1)!.key!.replace(/\.pgdump$/, '.json')]);
  }, 120_000);

  it('fails loudly and frees the target once three invocations in a row got nowhere', async () => {
    const seeded = await pgTarget('u-stuck', 'big');
    const { runId } = await dumpReady('u-stuck');
    // Every read of the dump outlasts the invocation, which the Lambda timeout kills: no part ever gets through.
    const env = slowEfsEnv({ match: /\/u-stuck\/.*\/dump\.pgdump$/, belowBytes: Infinity, delayMs: 600_000 });
    for (let i = 1; i <= 3; i++) {
      const running = h.invoke(SCHEDULED_EVENT, { env });
      // At work: counted, and (from the first on) the multipart upload recorded, so the kill leaves no unknown upload.
      await waitFor(`invocation ${i} at work`, async () => {
        const transfer = (await readRunJson(h.efsDir, 'u-stuck'))?.transfer as { idleInvocations?: number } | null;
        return transfer?.idleInvocations === i && existsSync(join(h.efsDir, 'u-stuck', runId, 'upload.json'));
      });
      running.child.kill('SIGKILL');
      await running.done;
      await expireLease('u-stuck', runId);
    }

    const last = await h.run(SCHEDULED_EVENT);

    expect(outcomeOf(last)).toMatchObject({ outcome: 'failed', runId, reason: 'the upload made no progress over 3 invocations (0 done): it is stuck' });
    expect(last.logs.find((l) => l.level === 'ERROR')).toMatchObject({ message: 'backup failed: the upload made no progress over 3 invocations (0 done): it is stuck' });
    expect(metricSum(last, 'BackupFailure', 'u-stuck')).toBe(1);
    expect(await readRunJson(h.efsDir, 'u-stuck')).toBeNull();
    expect(await h.s3.openUploads()).toEqual([]);
    await expectUntouched(seeded);
  }, 120_000);
});

describe('S3 errors', () => {
  it('leave the upload to the next invocation, which finishes it', async () => {
    await pgTarget('u-flaky');
    const { runId } = await dumpReady('u-flaky');
    h.proxy.setRule((req) => (s3Operation(req) === 'UploadPart' ? { status: 500, code: 'InternalError' } : 'pass'));
    const failed = await h.run(SCHEDULED_EVENT);
    expect(outcomeOf(failed)).toMatchObject({ outcome: 'uploading', runId });
    expect(outcomeOf(failed).reason).toMatch(/attempt 1 of 3/);
    expect(failed.logs.filter((l) => l.level === 'WARN' && l.target === 'u-flaky')).toHaveLength(1);
    expect(await readRunJson(h.efsDir, 'u-flaky')).toMatchObject({ phase: 'uploading', uploadAttempts: 1 });
    h.proxy.setRule(() => 'pass');
    expect(outcomeOf(await h.run(SCHEDULED_EVENT))).toMatchObject({ outcome: 'succeeded', runId });
  });

  it('fail the run after three invocations, leaving no upload behind and earlier backups intact', async () => {
    const seeded = await pgTarget('u-s3down');
    const { runId } = await dumpReady('u-s3down');
    h.proxy.setRule((req) => (s3Operation(req) === 'UploadPart' ? { status: 503, code: 'ServiceUnavailable' } : 'pass'));
    try {
      expect(outcomeOf(await h.run(SCHEDULED_EVENT)).outcome).toBe('uploading');
      expect(outcomeOf(await h.run(SCHEDULED_EVENT)).outcome).toBe('uploading');
      const last = await h.run(SCHEDULED_EVENT);
      expect(outcomeOf(last)).toMatchObject({ outcome: 'failed', runId });
      expect(outcomeOf(last).reason).toMatch(/attempt 3 of 3/);
      expect(metricSum(last, 'BackupFailure', 'u-s3down')).toBe(1);
    } finally {
      h.proxy.setRule(() => 'pass');
    }
    expect(await readRunJson(h.efsDir, 'u-s3down')).toBeNull();
    expect(await h.s3.openUploads()).toEqual([]);
    await expectUntouched(seeded);
  });
});

describe('a dump changed after its marker', () => {
  it('fails at once on the sha256 mismatch and leaves the weekday key as it was', async () => {
    const seeded = await pgTarget('u-changed');
    const { runId, dumpPath } = await dumpReady('u-changed');
    const bytes = await readFile(dumpPath);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(dumpPath, bytes);
    const run = await h.run(SCHEDULED_EVENT);
    expect(outcomeOf(run)).toMatchObject({ outcome: 'failed', runId });
    expect(outcomeOf(run).reason).toMatch(/sha256/);
    expect(metricSum(run, 'BackupFailure', 'u-changed')).toBe(1);
    expect(await h.s3.openUploads()).toEqual([]);
    await expectUntouched(seeded);
  });
});
