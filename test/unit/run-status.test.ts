import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../functions/orchestrator/events.js';
import { writeJobResult } from '../../functions/orchestrator/restore/restore-history.js';
import { readRunStatus, STATUS_PROBLEMS_KEPT } from '../../functions/orchestrator/run-status.js';
import { EfsState } from '../../functions/shared/adapters/efs-state.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { startingRecord, type RunRecord } from '../../functions/shared/core/run-record.js';
import { tempDir } from '../helpers/temp-dir.js';

/** The read-only `status` action against files laid out as the workflows write them on the backup EFS. */

const NOW = new Date('2026-11-22T05:00:00Z');
const RUN_ID = '20261122T040000Z-0123ab';
const pg = targetSchema.parse({ name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' });
const task = { taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/t', taskId: 't', clusterArn: 'arn:aws:ecs:eu-west-1:1:cluster/c', container: 'k' };

function world(): { root: string; state: EfsState; write(record: RunRecord, files?: Record<string, string | Buffer>): void } {
  const root = tempDir('run-status');
  const state = new EfsState(root);
  return {
    root,
    state,
    write(record, files = {}) {
      mkdirSync(state.runDir(record.target, record.runId), { recursive: true });
      writeFileSync(join(state.targetDir(record.target), 'run.json'), JSON.stringify(record));
      for (const [name, body] of Object.entries(files)) writeFileSync(join(state.runDir(record.target, record.runId), name), body);
    },
  };
}

const record = (o: Partial<RunRecord>): RunRecord => ({
  ...startingRecord({ kind: 'backup', runId: RUN_ID, target: 'pg', now: new Date('2026-11-22T04:00:00Z'), slot: new Date('2026-11-22T00:00:00Z') }),
  ...o,
});

describe('the status action', () => {
  it('is an event of its own, with nothing else in it', () => {
    expect(parseEvent({ action: 'status' })).toEqual({ action: 'status' });
    expect(() => parseEvent({ action: 'status', target: 'pg' })).toThrow(/invalid status event: .*target/);
  });

  it('reports a target with nothing on EFS as idle', async () => {
    const w = world();
    expect(await readRunStatus(w.state, [pg], NOW)).toEqual([{ target: 'pg', run: null, lastFailure: null, lastDrill: null, lastRestore: null }]);
  });

  it("reports a running dump with the bytes of its growing file, then of the promoted one", async () => {
    const w = world();
    w.write(record({ phase: 'running', task, pid: 42, startedAt: '2026-11-22T04:00:05.000Z' }), { 'dump.pgdump.tmp': Buffer.alloc(3000) });
    const [status] = await readRunStatus(w.state, [pg], NOW);
    expect(status!.run).toEqual({
      kind: 'backup', phase: 'running', runId: RUN_ID, createdAt: '2026-11-22T04:00:00.000Z', startedAt: '2026-11-22T04:00:05.000Z',
      slot: '2026-11-22T00:00:00.000Z', uploadAttempts: 0, lastError: null, progress: { dumpBytes: 3000 },
    });
    w.write(record({ phase: 'running', task, pid: 42, startedAt: '2026-11-22T04:00:05.000Z' }), { 'dump.pgdump': Buffer.alloc(5000) });
    rmSync(join(w.state.runDir('pg', RUN_ID), 'dump.pgdump.tmp'));
    expect((await readRunStatus(w.state, [pg], NOW))[0]!.run).toMatchObject({ progress: { dumpBytes: 5000 } });
  });

  it('reports an upload by the parts its progress file records', async () => {
    const w = world();
    const progress = { key: 'k', uploadId: 'u', partSize: 5, fileSize: 12, parts: [{ PartNumber: 1, ETag: 'e', size: 5 }, { PartNumber: 2, ETag: 'f', size: 5 }] };
    w.write(record({ phase: 'uploading', task, pid: 42, startedAt: '2026-11-22T04:00:05.000Z', uploadAttempts: 1, lastError: 'SlowDown' }), { 'upload.json': JSON.stringify(progress) });
    expect((await readRunStatus(w.state, [pg], NOW))[0]!.run).toMatchObject({ phase: 'uploading', uploadAttempts: 1, lastError: 'SlowDown', progress: { uploadedBytes: 10, uploadTotalBytes: 12 } });
  });

  it('reports no upload figure rather than a wrong one when the progress file is unreadable', async () => {
    const w = world();
    w.write(record({ phase: 'uploading', task, pid: 42, startedAt: '2026-11-22T04:00:05.000Z' }), { 'upload.json': '{"half' });
    expect((await readRunStatus(w.state, [pg], NOW))[0]!.run).toMatchObject({ progress: {} });
  });

  it("reports a drill's download from its run record", async () => {
    const w = world();
    const source = { key: 'b/pg/sunday.pgdump', versionId: 'v1', weekday: 'sunday', size: 400, sha256: 'a'.repeat(64), backupRunId: 'r', uploadedAt: '2026-11-22T00:05:00.000Z', counts: null };
    w.write(record({ kind: 'drill', slot: null, params: { source, file: 'backup.pgdump', bytesDownloaded: 100 } }));
    expect((await readRunStatus(w.state, [pg], NOW))[0]!.run).toMatchObject({ kind: 'drill', phase: 'starting', progress: { downloadedBytes: 100, downloadTotalBytes: 400 } });
  });

  it('says so when run.json is unreadable', async () => {
    const w = world();
    mkdirSync(w.state.targetDir('pg'), { recursive: true });
    writeFileSync(join(w.state.targetDir('pg'), 'run.json'), '{"version": 1,');
    expect((await readRunStatus(w.state, [pg], NOW))[0]!.run).toEqual({ unreadable: expect.stringMatching(/run record is not JSON/) });
  });

  it('reports the last failure and the last drill and restore, trimming a long list of problems', async () => {
    const w = world();
    await w.state.writeLastFailure('pg', { runId: RUN_ID, slot: '2026-11-22T00:00:00.000Z', at: '2026-11-22T04:10:00.000Z', reason: 'pg_dump exited 1' });
    const problems = Array.from({ length: STATUS_PROBLEMS_KEPT + 5 }, (_, i) => `table t${i}: 10 rows at dump time, 9 restored`);
    await writeJobResult(w.root, 'pg', { runId: RUN_ID, kind: 'drill', outcome: 'failed', reason: 'differs', problems, slot: null, startedAt: '2026-11-22T03:00:00.000Z', finishedAt: '2026-11-22T03:01:00.000Z' });
    await writeJobResult(w.root, 'pg', { runId: RUN_ID, kind: 'restore', outcome: 'succeeded', slot: null, startedAt: '2026-11-21T03:00:00.000Z', finishedAt: '2026-11-21T03:01:00.000Z' });
    const [status] = await readRunStatus(w.state, [pg], NOW);
    expect(status!.lastFailure).toMatchObject({ reason: 'pg_dump exited 1', slot: '2026-11-22T00:00:00.000Z' });
    expect(status!.lastDrill?.problems).toHaveLength(STATUS_PROBLEMS_KEPT + 1);
    expect(status!.lastDrill?.problems?.at(-1)).toBe('… and 5 more');
    expect(status!.lastRestore).toMatchObject({ outcome: 'succeeded' });
  });

  it('writes nothing and takes no lock', async () => {
    const w = world();
    w.write(record({ phase: 'running', task, pid: 42, startedAt: '2026-11-22T04:00:05.000Z' }), { 'dump.pgdump.tmp': 'x' });
    const before = readdirSync(w.state.targetDir('pg')).map((n) => `${n}:${statSync(join(w.state.targetDir('pg'), n)).mtimeMs}`);
    await readRunStatus(w.state, [pg, { ...pg, name: 'other' }], NOW);
    expect(readdirSync(w.state.targetDir('pg')).map((n) => `${n}:${statSync(join(w.state.targetDir('pg'), n)).mtimeMs}`)).toEqual(before);
    expect(readdirSync(w.root).sort()).toEqual(['pg']);
  });
});
