import type { Manifest } from '../../functions/shared/core/manifest.js';

/**
 * The table the demo ends with: one row per target with its backup's size, how long the dump and the
 * upload took (from the manifest's times) and whether the backup was restored and compared equal.
 * Pure formatting.
 */

/** How a target's backup was checked: restored and compared (`yes`/`no`), or not at all and why. */
export type Verdict = { verified: 'yes'; how: string } | { verified: 'no'; why: string } | { verified: 'not checked'; why: string };

/** One row of the summary. */
export interface SummaryRow {
  target: string;
  engine: string;
  /** null when the target has no backup in the bucket. */
  bytes: number | null;
  dumpSeconds: number | null;
  uploadSeconds: number | null;
  key: string | null;
  verdict: Verdict;
}

/** What the DUMP and UPLOAD columns measure, printed under the table. */
export const TIMING_FOOTNOTES = [
  'DUMP s = manifest dumpEndedAt - startedAt: the orchestrator starting the job until the dump, its self-check and row counts ended',
  'UPLOAD s = manifest uploadedAt - dumpEndedAt: the dump ending until the object and its manifest were in S3 (includes noticing done.gz)',
  'both to about 1 s: the container stamps dumpEndedAt in whole seconds',
] as const;

/** What VERIFIED means in each mode, printed under the table. */
export const VERIFIED_NOTES = {
  restore: 'VERIFIED = restored with the restore CLI into a fresh database and every table compared with the live one (Redis: a fresh redis-server on the staged RDB, DEBUG DIGEST compared)',
  drill: "VERIFIED = the product's restore drill restored it into a scratch database (Redis: a throwaway server), its counts matched the manifest, and the scratch copy was dropped",
} as const;

const seconds = (from: string, to: string) => Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

/** A row from a target's manifest (null: no backup) and its verdict. */
export function summaryRow(target: string, engine: string, manifest: Pick<Manifest, 'size' | 'key' | 'startedAt' | 'dumpEndedAt' | 'uploadedAt'> | null, verdict: Verdict): SummaryRow {
  if (manifest === null) return { target, engine, bytes: null, dumpSeconds: null, uploadSeconds: null, key: null, verdict };
  return {
    target,
    engine,
    bytes: manifest.size,
    dumpSeconds: seconds(manifest.startedAt, manifest.dumpEndedAt),
    uploadSeconds: seconds(manifest.dumpEndedAt, manifest.uploadedAt),
    key: manifest.key,
    verdict,
  };
}

/** The VERIFIED cell: `yes`, `no: why` or `not checked: why`. */
export function verdictText(v: Verdict): string {
  return v.verified === 'yes' ? 'yes' : `${v.verified}: ${v.why}`;
}

/** Whether every row was restored and compared equal. */
export function allVerified(rows: readonly SummaryRow[]): boolean {
  return rows.length > 0 && rows.every((r) => r.verdict.verified === 'yes');
}

/** A duration cell: `-` when unknown, `<1` below a second (the clocks' precision), else one decimal. */
export function secondsText(s: number | null): string {
  return s === null ? '-' : s < 1 ? '<1' : s.toFixed(1);
}

/** The table: a header, one line per row (numbers right-aligned), then the footnotes on the timings and `notes`. */
export function formatSummary(rows: readonly SummaryRow[], notes: readonly string[] = []): string {
  const header = ['TARGET', 'ENGINE', 'BYTES', 'DUMP s', 'UPLOAD s', 'S3 KEY', 'VERIFIED'];
  const numeric = [false, false, true, true, true, false, false];
  const cells = rows.map((r) => [
    r.target,
    r.engine,
    r.bytes === null ? '-' : String(r.bytes),
    secondsText(r.dumpSeconds),
    secondsText(r.uploadSeconds),
    r.key ?? '(no backup)',
    verdictText(r.verdict),
  ]);
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [...all.map(line), ...[...TIMING_FOOTNOTES, ...notes].map((f) => `  ${f}`)].join('\n');
}
