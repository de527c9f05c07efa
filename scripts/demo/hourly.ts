import type { TargetOutcome } from '../../functions/orchestrator/deps.js';
import type { LogLine } from '../../test/helpers/lambda-runner.js';
import { SCHEDULED_EVENT } from '../../test/helpers/orchestrator-harness.js';
import type { Verdict } from './summary-table.js';
import type { DemoWorld } from './world.js';

/**
 * The hourly schedule, played fast: invoke the bundle with EventBridge's "Scheduled Event" again and
 * again (a pause stands for the hour between) until every target's backup succeeded or failed,
 * printing each invocation's outcome per target.
 */

/** How the hourly invocations ended for one target: the last backup outcome seen. */
export type HourlyResult = Map<string, TargetOutcome>;

/** Options of runHourly. */
export interface HourlyOptions {
  maxInvocations: number;
  pauseMs: number;
  /** Stop early (Ctrl-C). */
  stopping: () => boolean;
}

const FINAL = new Set(['succeeded', 'failed']);

/** One progress line of a target's outcome. */
export function outcomeLine(o: TargetOutcome & { kind?: string }): string {
  const kind = o.kind !== undefined && o.kind !== 'backup' ? `${o.kind} ` : '';
  const detail = [o.key, o.reason].filter(Boolean).join(': ');
  return `${o.target.padEnd(20)} ${kind}${o.outcome}${detail ? `  ${detail}` : ''}`;
}

/** The job's own bookkeeping lines in its stderr: not what the user needs to see. */
const BOOKKEEPING = /^\S+Z (?:step \S+: (?:start|exit status \d+)|job finished: |error: \S+(?: -\w)? exited with status \d+$)/;

/** The tools' error lines from the job's stderr the orchestrator logged with a target's failure (what the user needs to fix it), at most `max`. */
export function failureDetail(logs: readonly LogLine[], target: string, max = 4): string[] {
  const logged = logs.filter((l) => l.level === 'ERROR' && l.target === target && typeof l.stderrTail === 'string').at(-1);
  if (!logged) return [];
  const lines = (logged.stderrTail as string).split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '' && !BOOKKEEPING.test(l));
  const errors = lines.filter((l) => /error|fatal|fail|refused|denied|cannot|can't/i.test(l));
  return (errors.length > 0 ? errors : lines).slice(-max);
}

/** The verdict of a target without a backup to verify: how its last invocation ended. */
export function noBackupVerdict(last: TargetOutcome | undefined): Verdict {
  return { verified: 'no', why: `no backup: ${last ? `${last.outcome}${last.reason ? ` (${last.reason})` : ''}` : 'never ran'}` };
}

/** Runs hourly invocations until every target in `targets` ended (or `maxInvocations`); throws when an invocation itself fails. */
export async function runHourly(world: DemoWorld, targets: readonly string[], say: (line: string) => void, o: HourlyOptions): Promise<HourlyResult> {
  const last: HourlyResult = new Map();
  for (let hour = 1; hour <= o.maxInvocations && !o.stopping(); hour++) {
    say(`- invocation ${hour}: the hourly EventBridge "Scheduled Event"`);
    const run = await world.run(SCHEDULED_EVENT);
    if (run.error) throw new Error(`invocation ${hour} of the orchestrator failed: ${run.error.name}: ${run.error.message}`);
    const results = (run.result as { results: (TargetOutcome & { kind?: string })[] }).results;
    for (const r of results) {
      say(`  ${outcomeLine(r)}`);
      if (r.outcome === 'failed') for (const line of failureDetail(run.logs, r.target)) say(`    | ${line}`);
      if (r.kind === undefined || r.kind === 'backup') {
        // An idle target after its success stays a success.
        if (!(r.outcome === 'idle' && last.get(r.target)?.outcome === 'succeeded')) last.set(r.target, r);
      }
    }
    if (targets.every((t) => FINAL.has(last.get(t)?.outcome ?? ''))) break;
    await new Promise((r) => setTimeout(r, o.pauseMs));
  }
  return last;
}
