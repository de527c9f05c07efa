import type { JobOutcome } from '../../functions/orchestrator/restore/restore-state.js';
import type { Target } from '../../functions/shared/config/schema.js';
import { errorMessage } from '../../functions/shared/errors.js';
import type { Verdict } from './summary-table.js';
import type { DemoWorld } from './world.js';

/**
 * Verifying a backup without touching the user's data: the product's restore drill (`{"action":
 * "drill"}`), which restores the newest backup into a scratch database (Redis: a throwaway server in
 * the container), compares the counts with the manifest's, and drops the scratch database.
 */

const RUNNING = new Set(['started', 'waiting', 'busy']);

/** Runs a drill of `target` to its end, printing its progress; `succeeded` is a `yes` verdict, anything else a `no` naming why. */
export async function verifyByDrill(world: DemoWorld, t: Pick<Target, 'name' | 'engine'>, say: (line: string) => void, stopping: () => boolean): Promise<Verdict> {
  world.check();
  const target = t.name;
  // The drill reports a scratch name for Redis too, but it loads the RDB into a throwaway server.
  const scratch = (o: JobOutcome) => (t.engine === 'redis' ? ' (throwaway redis-server)' : o.database ? ` (scratch database ${o.database})` : '');
  say(`- restore drill of ${target}  {"action": "drill", "target": "${target}"}`);
  try {
    let runId: string | undefined;
    let outcome: JobOutcome | undefined;
    let lastLine = '';
    for (let i = 0; i < 240 && !stopping(); i++) {
      const run = await world.run({ action: 'drill', target, ...(runId ? { runId } : {}) });
      if (run.error) return { verified: 'no', why: `the drill request failed: ${run.error.message}` };
      outcome = (run.result as { result: JobOutcome }).result;
      runId ??= outcome.runId;
      const line = `${outcome.outcome}${scratch(outcome)}${outcome.phase ? `, ${outcome.phase}` : ''}`;
      if (line !== lastLine) say(`  ${line}`);
      lastLine = line;
      if (!RUNNING.has(outcome.outcome)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (outcome?.outcome === 'succeeded') {
      say(`  passed: ${outcome.note ?? ''}; ${t.engine === 'redis' ? 'throwaway server stopped' : 'scratch database dropped'}`);
      return { verified: 'yes', how: `drill: ${outcome.note ?? 'passed'}` };
    }
    const why = outcome ? `drill ${outcome.outcome}: ${outcome.reason ?? ''}${outcome.problems?.length ? ` (${outcome.problems.slice(0, 2).join('; ')})` : ''}` : 'the drill did not run';
    say(`  ${why}`);
    return { verified: 'no', why };
  } catch (error) {
    return { verified: 'no', why: errorMessage(error) };
  }
}
