import type { TargetOutcome } from '../../functions/orchestrator/deps.js';
import { SCHEDULED_EVENT } from '../../test/helpers/orchestrator-harness.js';
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
