import { describe, expect, it } from 'vitest';
import type { BackupListing } from '../../functions/shared/adapters/s3-backups.js';
import { targetSchema, type Target } from '../../functions/shared/config/schema.js';
import type { Manifest } from '../../functions/shared/core/manifest.js';
import { weekdayOf } from '../../functions/shared/core/s3-keys.js';
import type { CurrentRun, TargetRunStatus } from '../../functions/orchestrator/run-status.js';
import { assessTarget, type TargetFacts } from '../../scripts/status/assess.js';

const NOW = new Date('2026-11-22T14:00:00Z');
const MiB = 1024 * 1024;
const target: Target = targetSchema.parse({ name: 'orders', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' });
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000).toISOString();

/** A verified backup whose run started `startedHoursAgo` and took 12 s to dump and 3 s to upload. */
function backup(startedHoursAgo: number, size: number, o: { current?: boolean; old?: boolean } = {}): BackupListing {
  const startedAt = hoursAgo(startedHoursAgo);
  const weekday = weekdayOf(new Date(startedAt), 'UTC');
  const key = `b/orders/${weekday}.pgdump`;
  const manifest: Manifest = {
    version: 1, target: 'orders', engine: 'postgres', key, weekday, size, sha256: 'a'.repeat(64), toolVersion: '15', runId: 'r',
    sourceTask: 't', startedAt, dumpEndedAt: new Date(Date.parse(startedAt) + 12_000).toISOString(),
    uploadedAt: new Date(Date.parse(startedAt) + 15_000).toISOString(), checks: [], counts: null, objectVersionId: `v-${startedHoursAgo}`,
    ...(o.old ? {} : { dumpSeconds: 12, uploadSeconds: 3 }),
  };
  return { weekday, key, manifestKey: `b/orders/${weekday}.json`, size, lastModified: new Date(manifest.uploadedAt), versionId: `v-${startedHoursAgo}`, isLatest: o.current ?? true, manifest };
}

function runState(o: Partial<TargetRunStatus> = {}): TargetRunStatus {
  return { target: 'orders', run: null, lastFailure: null, lastDrill: null, lastRestore: null, ...o };
}

function run(o: Partial<CurrentRun>): CurrentRun {
  return { kind: 'backup', phase: 'running', runId: '20261122T000000Z-abcdef', createdAt: hoursAgo(1), startedAt: hoursAgo(1), slot: null, uploadAttempts: 0, lastError: null, progress: {}, ...o };
}

const facts = (listings: BackupListing[], state: TargetRunStatus | null = runState(), t: Target = target): TargetFacts => ({
  target: t, listings, runState: state, ...(state === null ? { runStateError: 'AccessDenied' } : {}),
});

describe('health', () => {
  it.each<[string, TargetFacts, string, RegExp | null]>([
    ['a backup after the latest slot is ok', facts([backup(13.9, 10 * MiB), backup(37.9, 10 * MiB, { current: true })]), 'ok', null],
    ['a slot missed by more than the grace is stale', facts([backup(40, 10 * MiB)]), 'stale', /no backup since the one due at 2026-11-21 00:00Z \(schedule "0 0 \* \* \*" in UTC\); the last is from 2026-11-20 22:00Z/],
    ['a slot missed by less than the grace is not stale yet', facts([backup(24 + 1, 10 * MiB)], runState(), targetSchema.parse({ ...target, schedule: '0 13 * * *' })), 'ok', null],
    ['no backup at all is never', facts([]), 'never', /no verified backup in S3 yet/],
    ['a failure after the last success is failed', facts([backup(13.9, MiB)], runState({ lastFailure: { runId: 'r', slot: null, at: hoursAgo(1), reason: 'pg_dump exited 1' } })), 'failed', /failed at 2026-11-22 13:00Z: pg_dump exited 1/],
    ['a failure before the last success is history', facts([backup(1, MiB)], runState({ lastFailure: { runId: 'r', slot: null, at: hoursAgo(5), reason: 'x' } })), 'ok', null],
    ['half the size of the one before is shrank', facts([backup(13.9, 4 * MiB), backup(37.9, 10 * MiB)]), 'shrank', /60% smaller than the one before it/],
    ['a small previous backup is not compared', facts([backup(13.9, 1000), backup(37.9, target.shrink.minBytes - 1)]), 'ok', null],
    ['a failed last drill is drill failed', facts([backup(13.9, MiB)], runState({ lastDrill: { runId: 'd', kind: 'drill', outcome: 'failed', reason: 'table public.t: 10 rows at dump time, 9 restored', slot: null, startedAt: hoursAgo(2), finishedAt: hoursAgo(2) } })), 'drill failed', /10 rows at dump time, 9 restored/],
    ['an unreadable run state is unknown', facts([backup(13.9, MiB)], null), 'unknown', /could not be read: AccessDenied/],
  ])('%s', (_, given, word, reason) => {
    const status = assessTarget(given, NOW);
    expect(status.health).toBe(word);
    expect(status.healthy).toBe(word === 'ok');
    if (reason) expect(status.reasons[0]).toMatch(reason);
    else expect(status.reasons).toEqual([]);
  });

  it("reads the shrink threshold from the target's config", () => {
    const strict = targetSchema.parse({ ...target, shrink: { percent: 20 } });
    const given = [backup(13.9, 7.5 * MiB), backup(37.9, 10 * MiB)];
    expect(assessTarget(facts(given), NOW).health).toBe('ok');
    expect(assessTarget(facts(given, runState(), strict), NOW).reasons).toEqual(['shrank: the last backup (7.5 MiB) is 25% smaller than the one before it (10.0 MiB)']);
  });

  it('shows the shrink the orchestrator recorded in the manifest, tables included', () => {
    const last = backup(13.9, 10 * MiB);
    last.manifest!.shrank = { previousRunId: 'p', previousKey: 'k', tables: [{ name: 'public.orders', before: 5000, after: 3 }], percent: 50 };
    expect(assessTarget(facts([last, backup(37.9, 10 * MiB)]), NOW).reasons).toEqual(['shrank: 1 table(s) lost 50% of their rows or more: public.orders 5000 → 3']);
  });

  it('names the most severe word and keeps every reason', () => {
    const status = assessTarget(facts([backup(40, 4 * MiB), backup(64, 10 * MiB)], runState({ lastFailure: { runId: 'r', slot: null, at: hoursAgo(1), reason: 'boom' } })), NOW);
    expect(status.health).toBe('failed');
    expect(status.reasons.map((r) => r.split(':')[0])).toEqual(['failed', 'stale', 'shrank']);
  });

  it('gives a running backup its dump timeout before calling the slot missed', () => {
    const t = targetSchema.parse({ ...target, schedule: '0 10 * * *', dumpTimeoutMinutes: 180 });
    // The 10:00 slot is 4 h ago: stale when nothing runs, not while a backup of it runs (2 h grace + 3 h timeout).
    expect(assessTarget(facts([backup(28, MiB)], runState(), t), NOW).health).toBe('stale');
    expect(assessTarget(facts([backup(28, MiB)], runState({ run: run({ startedAt: hoursAgo(3.5) }) }), t), NOW).health).toBe('ok');
  });
});

describe('status fields', () => {
  it('takes the last and the previous backup by upload time over every kept version', () => {
    const status = assessTarget(facts([backup(37.9, 8 * MiB), backup(13.9, 10 * MiB), backup(61.9, 9 * MiB, { current: false })]), NOW);
    expect(status.lastBackup).toMatchObject({ size: 10 * MiB, uploadedAt: '2026-11-22T00:06:15.000Z', ageSeconds: 13.9 * 3600 - 15, dumpSeconds: 12, uploadSeconds: 3 });
    expect(status.previousBackup?.size).toBe(8 * MiB);
    expect(status.sizeChangePercent).toBeCloseTo(25);
  });

  it('reads dump seconds from the manifest times and leaves upload seconds unknown for older manifests', () => {
    expect(assessTarget(facts([backup(13.9, MiB, { old: true })]), NOW).lastBackup).toMatchObject({ dumpSeconds: 12, uploadSeconds: null });
  });

  it('ignores dumps without a manifest (they cannot be verified)', () => {
    const unverified = { ...backup(1, MiB), manifest: null };
    expect(assessTarget(facts([unverified, backup(13.9, 2 * MiB)]), NOW).lastBackup?.size).toBe(2 * MiB);
  });

  it.each<[string, TargetFacts, { now: boolean; at: string }]>([
    ['the next slot when the latest is done', facts([backup(13.9, MiB)]), { now: false, at: '2026-11-23T00:00:00.000Z' }],
    ['now when the latest slot has no backup', facts([backup(40, MiB)]), { now: true, at: '2026-11-22T00:00:00.000Z' }],
    ['the next slot when the latest one failed (it is not retried)', facts([backup(40, MiB)], runState({ lastFailure: { runId: 'r', slot: '2026-11-22T00:00:00.000Z', at: hoursAgo(13), reason: 'x' } })), { now: false, at: '2026-11-23T00:00:00.000Z' }],
  ])('next due: %s', (_, given, due) => {
    expect(assessTarget(given, NOW).nextDue).toEqual(due);
  });

  it.each<[string, CurrentRun, { activity: string; percent: number | null; estimated: boolean; bytes: number | null }]>([
    ['a dump against the last size', run({ progress: { dumpBytes: 3 * MiB } }), { activity: 'dump running', percent: 30, estimated: true, bytes: 3 * MiB }],
    ['a dump larger than the last stays below 100', run({ progress: { dumpBytes: 30 * MiB } }), { activity: 'dump running', percent: 99, estimated: true, bytes: 30 * MiB }],
    ['an upload by parts sent', run({ phase: 'uploading', progress: { uploadedBytes: 7 * MiB, uploadTotalBytes: 10 * MiB } }), { activity: 'uploading', percent: 70, estimated: false, bytes: 7 * MiB }],
    ['a drill downloading', run({ kind: 'drill', phase: 'starting', progress: { downloadedBytes: MiB, downloadTotalBytes: 4 * MiB } }), { activity: 'drill downloading', percent: 25, estimated: false, bytes: MiB }],
    ['a restore job running', run({ kind: 'restore', phase: 'running' }), { activity: 'restore running', percent: null, estimated: false, bytes: null }],
  ])('current run: %s', (_, current, expected) => {
    const status = assessTarget(facts([backup(13.9, 10 * MiB)], runState({ run: current })), NOW);
    expect(status.run).toMatchObject({ ...expected, runningSeconds: 3600 });
  });

  it('tells an unknown run state (undefined) from no run (null)', () => {
    expect(assessTarget(facts([backup(13.9, MiB)], null), NOW).run).toBeUndefined();
    expect(assessTarget(facts([backup(13.9, MiB)]), NOW).run).toBeNull();
  });

  it('says what a passed drill compared', () => {
    const lastDrill = { runId: 'd', kind: 'drill' as const, outcome: 'succeeded' as const, note: 'restored counts match the manifest (42 compared)', slot: null, startedAt: hoursAgo(3), finishedAt: hoursAgo(2), source: { key: 'k', versionId: 'v1', weekday: 'sunday', uploadedAt: hoursAgo(13) } };
    expect(assessTarget(facts([backup(13.9, MiB)], runState({ lastDrill })), NOW).lastDrill).toEqual({
      outcome: 'passed', finishedAt: hoursAgo(2), detail: 'restored counts match the manifest (42 compared)', problems: [], backup: 'sunday (version v1)',
    });
  });
});
