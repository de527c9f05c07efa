import type { BackupListing } from '../../functions/shared/adapters/s3-backups.js';
import { WEEKDAYS } from '../../functions/shared/core/s3-keys.js';
import type { HealthWord, RunSummary, TargetStatus } from './assess.js';
import { formatBytes, formatDuration, formatInZone, formatUtc } from './units.js';

/**
 * The status as text: one table row per target, the reasons of unhealthy ones and what each last drill
 * compared below it; for one target, its week of weekday keys with every kept version. ANSI colours only
 * when asked (a terminal without NO_COLOR: see colourWanted).
 */

const SGR = { red: '31', green: '32', yellow: '33', dim: '2', bold: '1' } as const;
type Style = keyof typeof SGR;

/** A table cell: its text and how to colour it. */
interface Cell {
  text: string;
  style?: Style;
}

/** Whether to colour the output: on a terminal, unless NO_COLOR is set to anything but "" (no-color.org). */
export function colourWanted(isTerminal: boolean, env: NodeJS.ProcessEnv): boolean {
  return isTerminal && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

const HEALTH_STYLE: Record<HealthWord, Style> = {
  ok: 'green',
  failed: 'red',
  never: 'red',
  stale: 'yellow',
  shrank: 'yellow',
  'drill failed': 'yellow',
  unknown: 'yellow',
};

function paint(cell: Cell, colour: boolean, width = 0): string {
  const padded = cell.text.padEnd(width);
  return colour && cell.style ? `\x1b[${SGR[cell.style]}m${padded}\x1b[0m` : padded;
}

function table(header: string[], rows: Cell[][], colour: boolean): string {
  const all: Cell[][] = [header.map((text) => ({ text, style: 'bold' as const })), ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]?.text.length ?? 0)));
  // The last column is not padded, so no line ends in blanks.
  return all.map((r) => r.map((c, i) => paint(c, colour, i === r.length - 1 ? 0 : widths[i])).join('  ')).join('\n') + '\n';
}

const none: Cell = { text: '-', style: 'dim' };

function runCell(run: TargetStatus['run']): Cell {
  if (run === undefined) return { text: 'unknown', style: 'yellow' };
  if (run === null) return none;
  if ('unreadable' in run) return { text: 'run.json unreadable', style: 'yellow' };
  return { text: runText(run), style: 'bold' };
}

/** The current run in a few words: "dump running 3m 05s, ~45%", "uploading 12s, 70%". */
export function runText(run: RunSummary): string {
  const percent = run.percent === null ? (run.bytes !== null ? `, ${formatBytes(run.bytes)}` : '') : `, ${run.estimated ? '~' : ''}${run.percent}%`;
  return `${run.activity} ${formatDuration(run.runningSeconds)}${percent}${run.lastError ? ' (retrying)' : ''}`;
}

function trendCell(s: TargetStatus): Cell {
  if (s.sizeChangePercent === null) return none;
  const p = s.sizeChangePercent;
  const text = `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
  return s.health === 'shrank' ? { text, style: 'red' } : { text };
}

function row(s: TargetStatus): Cell[] {
  const last = s.lastBackup;
  const seconds = (v: number | null | undefined) => (v === null || v === undefined ? none : { text: formatDuration(v) });
  return [
    { text: s.target },
    { text: s.health, style: HEALTH_STYLE[s.health] },
    last ? { text: `${last.weekday} ${formatUtc(last.uploadedAt)}` } : none,
    last ? { text: formatDuration(last.ageSeconds) } : none,
    last ? { text: formatBytes(last.size) } : none,
    trendCell(s),
    seconds(last?.dumpSeconds),
    seconds(last?.uploadSeconds),
    s.nextDue === null ? none : s.nextDue.now ? { text: 'now', style: 'yellow' } : { text: formatInZone(s.nextDue.at, s.timeZone) },
    runCell(s.run),
    s.lastDrill ? { text: `${s.lastDrill.outcome} ${formatUtc(s.lastDrill.finishedAt)}`, style: s.lastDrill.outcome === 'passed' ? 'green' : 'red' } : none,
  ];
}

/** Notes under the table: why a target is unhealthy, what its last drill compared. */
function notes(statuses: readonly TargetStatus[]): string[] {
  return statuses.flatMap((s) => [
    ...s.reasons.map((r) => `${s.target}: ${r}`),
    ...(s.lastDrill?.outcome === 'passed' ? [`${s.target}: last drill: ${s.lastDrill.detail}`] : []),
    ...(s.lastDrill?.problems.length ? s.lastDrill.problems.map((p) => `${s.target}: drill found: ${p}`) : []),
  ]);
}

/** The status of every target: the table, then the notes. */
export function formatStatusTable(statuses: readonly TargetStatus[], colour: boolean): string {
  const header = ['TARGET', 'HEALTH', 'LAST BACKUP', 'AGE', 'SIZE', 'TREND', 'DUMP', 'UPLOAD', 'NEXT DUE', 'RUN', 'LAST DRILL'];
  const text = table(header, statuses.map(row), colour);
  const lines = notes(statuses);
  return lines.length ? `${text}\n${lines.join('\n')}\n` : text;
}

/** One target's week: every weekday key with each kept version, newest first; missing days say so. */
export function formatHistory(status: TargetStatus, listings: readonly BackupListing[], colour: boolean): string {
  const rows: Cell[][] = [];
  for (const weekday of WEEKDAYS) {
    const versions = listings.filter((l) => l.weekday === weekday).sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime());
    if (versions.length === 0) rows.push([{ text: weekday }, none, { text: 'no backup', style: 'dim' }, none, none, none, none]);
    for (const [i, l] of versions.entries()) {
      const m = l.manifest;
      rows.push([
        { text: i === 0 ? weekday : '' },
        l.isLatest ? { text: 'current' } : { text: 'older', style: 'dim' },
        { text: formatBytes(l.size) },
        { text: formatUtc(m?.uploadedAt ?? l.lastModified.toISOString()) },
        m?.dumpSeconds !== undefined ? { text: formatDuration(m.dumpSeconds) } : none,
        m?.uploadSeconds !== undefined ? { text: formatDuration(m.uploadSeconds) } : none,
        { text: `${l.versionId ?? '-'}${m ? '' : '  (no manifest: cannot be verified)'}`, ...(m ? {} : { style: 'yellow' as const }) },
      ]);
    }
  }
  const head = `${status.target} (${status.engine}, schedule "${status.schedule}" ${status.timeZone}): ${paint({ text: status.health, style: HEALTH_STYLE[status.health] }, colour)}\n`;
  return `${head}\n${table(['WEEKDAY', 'VERSION', 'SIZE', 'UPLOADED', 'DUMP', 'UPLOAD', 'VERSION ID'], rows, colour)}`;
}
