import type { BackupListing } from '../../functions/shared/adapters/s3-backups.js';
import type { Target } from '../../functions/shared/config/schema.js';
import type { Manifest } from '../../functions/shared/core/manifest.js';
import { isDue, nextSlot } from '../../functions/shared/core/schedule.js';
import { shrinkage, type Shrinkage } from '../../functions/shared/core/shrink.js';
import type { CurrentRun, TargetRunStatus } from '../../functions/orchestrator/run-status.js';
import { formatBytes, formatUtc } from './units.js';

/**
 * The pure part of `npm run status`: from what S3 lists (every kept dump and its manifest) and what the
 * orchestrator reports from EFS (current run, last failure, last drill), one target's status and a health
 * word with its reasons. The clock is an argument.
 */

/** Health words, most severe first: a target shows the first that applies. */
export const HEALTH_WORDS = ['failed', 'stale', 'never', 'shrank', 'drill failed', 'unknown', 'ok'] as const;

/** A target's health word. */
export type HealthWord = (typeof HEALTH_WORDS)[number];

/** Thresholds of the health rules. */
export const HEALTH_RULES = {
  /**
   * How long after a scheduled time its backup may still be missing before the target is stale: the
   * orchestrator looks every hour, and an upload may span a second invocation.
   */
  staleGraceHours: 2,
} as const;

/** What the status is made of, for one target. */
export interface TargetFacts {
  target: Target;
  /** Every kept dump version of the target (listBackups with versions), any order. */
  listings: readonly BackupListing[];
  /** The orchestrator's report; null when it could not be read (`runStateError` says why). */
  runState: TargetRunStatus | null;
  runStateError?: string;
}

/** One backup as the status shows it. */
export interface BackupSummary {
  weekday: string;
  key: string;
  versionId: string | null;
  size: number;
  startedAt: string;
  uploadedAt: string;
  ageSeconds: number;
  /** From the manifest; for manifests older than that field, dump = dumpEndedAt − startedAt and upload unknown. */
  dumpSeconds: number | null;
  uploadSeconds: number | null;
}

/** The current run as the status shows it. */
export interface RunSummary {
  kind: CurrentRun['kind'];
  phase: CurrentRun['phase'];
  runId: string;
  runningSeconds: number;
  /** What the run is doing, e.g. "dump running" or "drill downloading". */
  activity: string;
  /** Progress in percent where it can be told; a running dump's is an estimate against the last backup's size. */
  percent: number | null;
  estimated: boolean;
  /** Bytes behind the percentage (dumped, uploaded or downloaded so far). */
  bytes: number | null;
  lastError: string | null;
}

/** The last restore drill as the status shows it. */
export interface DrillSummary {
  outcome: 'passed' | 'failed';
  finishedAt: string;
  /** What it compared (the drill's note) or why it failed. */
  detail: string;
  problems: string[];
  backup: string | null;
}

/** The whole status of one target. */
export interface TargetStatus {
  target: string;
  engine: string;
  schedule: string;
  timeZone: string;
  health: HealthWord;
  healthy: boolean;
  /** One sentence per rule that fired, most severe first; empty when healthy. */
  reasons: string[];
  lastBackup: BackupSummary | null;
  previousBackup: BackupSummary | null;
  /** Size change of the last backup against the previous one, in percent. */
  sizeChangePercent: number | null;
  /** When the next backup is due: now (its slot passed without one) or the next scheduled time. */
  nextDue: { now: boolean; at: string } | null;
  /** null: no run; `unreadable`: run.json does not parse; undefined: the run state is unknown. */
  run: RunSummary | { unreadable: string } | null | undefined;
  lastDrill: DrillSummary | null;
  lastFailure: { at: string; reason: string; slot: string | null } | null;
}

const ms = (iso: string) => Date.parse(iso);

function summarize(listing: BackupListing & { manifest: Manifest }, now: Date): BackupSummary {
  const m = listing.manifest;
  return {
    weekday: listing.weekday,
    key: listing.key,
    versionId: listing.versionId,
    size: m.size,
    startedAt: m.startedAt,
    uploadedAt: m.uploadedAt,
    ageSeconds: Math.max(0, Math.round((now.getTime() - ms(m.uploadedAt)) / 1000)),
    dumpSeconds: m.dumpSeconds ?? Math.max(0, (ms(m.dumpEndedAt) - ms(m.startedAt)) / 1000),
    uploadSeconds: m.uploadSeconds ?? null,
  };
}

/** The verified backups (those with a manifest), newest upload first. */
export function verifiedBackups(listings: readonly BackupListing[]): (BackupListing & { manifest: Manifest })[] {
  return listings
    .filter((l): l is BackupListing & { manifest: Manifest } => l.manifest !== null)
    .sort((a, b) => ms(b.manifest.uploadedAt) - ms(a.manifest.uploadedAt));
}

function runSummary(run: CurrentRun, last: BackupSummary | null, now: Date): RunSummary {
  const p = run.progress;
  const runningSeconds = Math.max(0, Math.round((now.getTime() - ms(run.startedAt ?? run.createdAt)) / 1000));
  const pct = (done: number | undefined, total: number | undefined) =>
    done !== undefined && total !== undefined && total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : null;
  let activity: string = `${run.kind} ${run.phase}`;
  let percent: number | null = null;
  let estimated = false;
  let bytes: number | null = null;
  if (run.kind === 'backup' && run.phase === 'running') {
    activity = 'dump running';
    bytes = p.dumpBytes ?? null;
    // Only an estimate: today's dump is compared with the last one's size, and never shown as done.
    if (bytes !== null && last) [percent, estimated] = [Math.min(99, pct(bytes, last.size) ?? 0), true];
  } else if (run.kind === 'backup' && run.phase === 'uploading') {
    [activity, percent, bytes] = ['uploading', pct(p.uploadedBytes, p.uploadTotalBytes), p.uploadedBytes ?? null];
  } else if (run.kind !== 'backup' && run.phase === 'starting') {
    [activity, percent, bytes] = [`${run.kind} downloading`, pct(p.downloadedBytes, p.downloadTotalBytes), p.downloadedBytes ?? null];
  } else if (run.kind !== 'backup') {
    activity = `${run.kind} running`;
  }
  return { kind: run.kind, phase: run.phase, runId: run.runId, runningSeconds, activity, percent, estimated, bytes, lastError: run.lastError };
}

function drillSummary(state: TargetRunStatus | null): DrillSummary | null {
  const d = state?.lastDrill;
  if (!d) return null;
  const passed = d.outcome === 'succeeded';
  return {
    outcome: passed ? 'passed' : 'failed',
    finishedAt: d.finishedAt,
    detail: (passed ? d.note : d.reason) ?? (passed ? 'restore succeeded' : 'no reason recorded'),
    problems: d.problems ?? [],
    backup: d.source ? `${d.source.weekday}${d.source.versionId ? ` (version ${d.source.versionId})` : ''}` : null,
  };
}

function nextDue(target: Target, last: BackupSummary | null, facts: TargetFacts, now: Date): TargetStatus['nextDue'] {
  const failedSlot = facts.runState?.lastFailure?.slot;
  const due = isDue({
    schedule: target.schedule,
    timeZone: target.timeZone,
    now,
    lastSuccess: last ? new Date(last.startedAt) : null,
    lastFailedSlot: failedSlot ? new Date(failedSlot) : null,
  });
  if (due.due) return { now: true, at: due.slot.toISOString() };
  const next = nextSlot(target.schedule, target.timeZone, now);
  return next ? { now: false, at: next.toISOString() } : null;
}

function runOf(state: TargetRunStatus | null, last: BackupSummary | null, now: Date): TargetStatus['run'] {
  if (state === null) return undefined;
  if (state.run === null) return null;
  return 'unreadable' in state.run ? state.run : runSummary(state.run, last, now);
}

/** The status of one target at `now`. */
export function assessTarget(facts: TargetFacts, now: Date): TargetStatus {
  const { target, runState } = facts;
  const verified = verifiedBackups(facts.listings);
  const backups = verified.map((l) => summarize(l, now));
  const [last = null, previous = null] = backups;
  const run = runOf(runState, last, now);
  const failure = runState?.lastFailure ?? null;
  const status: Omit<TargetStatus, 'health' | 'healthy' | 'reasons'> = {
    target: target.name,
    engine: target.engine,
    schedule: target.schedule,
    timeZone: target.timeZone,
    lastBackup: last,
    previousBackup: previous,
    sizeChangePercent: last && previous ? ((last.size - previous.size) / previous.size) * 100 : null,
    nextDue: nextDue(target, last, facts, now),
    run,
    lastDrill: drillSummary(runState),
    lastFailure: failure ? { at: failure.at, reason: failure.reason, slot: failure.slot } : null,
  };
  // The orchestrator's own verdict when the manifest records one; older manifests are compared here by the same rules.
  const [newest, before] = verified;
  const shrank = newest?.manifest.shrank ?? (newest && before ? shrinkage(before.manifest, newest.manifest, target.shrink) : null);
  const found = healthReasons(status, facts, now, shrank);
  const health = HEALTH_WORDS.find((w) => found.some((f) => f.word === w)) ?? 'ok';
  return { ...status, health, healthy: health === 'ok', reasons: found.map((f) => `${f.word}: ${f.reason}`) };
}

/** Every rule that fires, in HEALTH_WORDS order. */
function healthReasons(s: Omit<TargetStatus, 'health' | 'healthy' | 'reasons'>, facts: TargetFacts, now: Date, shrank: Shrinkage | null): { word: HealthWord; reason: string }[] {
  const found: { word: HealthWord; reason: string }[] = [];
  const last = s.lastBackup;
  const backupRunning = s.run !== undefined && s.run !== null && 'kind' in s.run && s.run.kind === 'backup';
  if (s.lastFailure && (!last || ms(s.lastFailure.at) > ms(last.uploadedAt))) {
    found.push({ word: 'failed', reason: `the last run failed at ${formatUtc(s.lastFailure.at)}: ${s.lastFailure.reason}` });
  }
  if (last) {
    // The first scheduled time after the last success's start is the one whose backup is missing.
    const missed = nextSlot(s.schedule, s.timeZone, new Date(last.startedAt));
    const graceHours = HEALTH_RULES.staleGraceHours + (backupRunning ? facts.target.dumpTimeoutMinutes / 60 : 0);
    if (missed && now.getTime() - missed.getTime() > graceHours * 3600_000) {
      found.push({ word: 'stale', reason: `no backup since the one due at ${formatUtc(missed.toISOString())} (schedule "${s.schedule}" in ${s.timeZone}); the last is from ${formatUtc(last.uploadedAt)}` });
    }
  } else {
    found.push({ word: 'never', reason: `no verified backup in S3 yet${backupRunning ? ' (the first one is running)' : ''}` });
  }
  if (shrank) {
    const bytes = shrank.bytes;
    const size = bytes ? `the last backup (${formatBytes(bytes.after)}) is ${Math.round((1 - bytes.after / bytes.before) * 100)}% smaller than the one before it (${formatBytes(bytes.before)})` : null;
    const tables = shrank.tables.length > 0 ? `${shrank.tables.length} table(s) lost ${shrank.percent}% of their rows or more: ${shrank.tables.slice(0, 5).map((t) => `${t.name} ${t.before} → ${t.after}`).join(', ')}` : null;
    found.push({ word: 'shrank', reason: [size, tables].filter((x) => x !== null).join('; ') });
  }
  if (s.lastDrill?.outcome === 'failed') {
    found.push({ word: 'drill failed', reason: `the last restore drill (${formatUtc(s.lastDrill.finishedAt)}) failed: ${s.lastDrill.detail}` });
  }
  if (facts.runState === null) {
    found.push({ word: 'unknown', reason: `the orchestrator's run state could not be read: ${facts.runStateError ?? 'no answer'}` });
  }
  return found;
}
