import type { CheckResult, Verdict } from './types.js';

/** Plain-text tags of each verdict (used when colour is off). */
export const TAGS = { green: '[OK]', yellow: '[WARN]', red: '[FAIL]' } as const satisfies Record<Verdict, string>;

const ANSI = { green: '\u001b[32m', yellow: '\u001b[33m', red: '\u001b[31m', reset: '\u001b[0m' } as const;

/** Counts of each verdict. */
export interface Summary {
  readonly green: number;
  readonly yellow: number;
  readonly red: number;
}

/** The worst verdict of a report; green for an empty one. */
export function worstVerdict(results: readonly CheckResult[]): Verdict {
  if (results.some((r) => r.verdict === 'red')) return 'red';
  if (results.some((r) => r.verdict === 'yellow')) return 'yellow';
  return 'green';
}

/** The process exit code of a report: 1 when any line is red, else 0. */
export function exitCodeOf(results: readonly CheckResult[]): 0 | 1 {
  return worstVerdict(results) === 'red' ? 1 : 0;
}

/** Counts the lines of each verdict. */
export function summarize(results: readonly CheckResult[]): Summary {
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  return { green: count('green'), yellow: count('yellow'), red: count('red') };
}

/** Whether to colour the output: only on a terminal, and never when NO_COLOR is set. */
export function useColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return isTTY === true && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}

/** One line per result, then a summary line; ANSI colours when `color`, `[OK]/[WARN]/[FAIL]` tags otherwise. */
export function formatReport(results: readonly CheckResult[], options: { color: boolean; notes?: readonly string[] }): string {
  const paint = (v: Verdict, text: string) => (options.color ? `${ANSI[v]}${text}${ANSI.reset}` : text);
  const out = results.map((r) => {
    const fix = r.fix === undefined ? '' : ` → ${r.fix}`;
    return `${paint(r.verdict, TAGS[r.verdict])}${' '.repeat(7 - TAGS[r.verdict].length)}${r.title}: ${r.message}${fix}`;
  });
  for (const note of options.notes ?? []) out.push(`       ${note}`);
  const s = summarize(results);
  const verdict = worstVerdict(results);
  const headline = verdict === 'red' ? 'ECS Exec will fail: fix the [FAIL] lines' : verdict === 'yellow' ? 'no blocking problem found; see the [WARN] lines' : 'all checks passed';
  out.push(paint(verdict, `${results.length} checks: ${s.green} ok, ${s.yellow} warnings, ${s.red} failures — ${headline}`));
  return `${out.join('\n')}\n`;
}

/** The machine-readable report printed by `--json`. */
export function jsonReport(results: readonly CheckResult[], notes: readonly string[] = []): string {
  return `${JSON.stringify({ verdict: worstVerdict(results), summary: summarize(results), results, notes }, null, 2)}\n`;
}
