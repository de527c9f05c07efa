import { EfsState } from '../shared/adapters/efs-state.js';
import { createTelemetry } from '../shared/adapters/telemetry.js';
import type { Target } from '../shared/config/schema.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import type { VersioningProblem } from '../shared/core/bucket-versioning.js';
import type { ObservedAge } from '../shared/core/fleet-staleness.js';
import { EcsExec } from '../shared/exec/exec-client.js';
import { cachedServiceTasks } from '../shared/exec/service-tasks.js';
import { runBackup } from './backup/backup-workflow.js';
import { reportStaleTargets } from './backup/stale-targets.js';
import { findVersioningProblem, reportVersioningProblem } from './bucket-check.js';
import { createClients } from './clients.js';
import { fleetOrder, runFleet } from './fleet-run.js';
import type { Deps, TargetOutcome } from './deps.js';
import { runScheduled } from './scheduled.js';
import { readEnv, type OrchestratorEnv } from './env.js';
import { parseEvent } from './events.js';
import { answerProbe, type ProbeAnswer } from './probe.js';
import type { JobOutcome } from './restore/restore-state.js';
import { readRunStatus, type TargetRunStatus } from './run-status.js';
import { Semaphore } from './semaphore.js';

/** Time kept back from the Lambda's remaining time: no new work (part, poll, launch) starts within it. */
export const SAFETY_MARGIN_MS = 45_000;
/**
 * Uploads running at once. Each holds at most MULTIPART.bufferBudget (40 MiB) of part buffers, so 2 stay
 * near 80 MiB on a 512 MB function; more would not go faster either, as they share one NIC.
 */
export const MAX_CONCURRENT_UPLOADS = 2;

/** The part of the Lambda context the orchestrator uses. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/** What the orchestrator answers. */
export type HandlerResult =
  | { action: 'scheduled' | 'backup'; results: TargetOutcome[] }
  | ({ action: 'probe' } & ProbeAnswer)
  | { action: 'status'; targets: TargetRunStatus[] }
  | { action: 'restore' | 'drill'; result: JobOutcome };

const telemetry = createTelemetry();
let cached: {
  env: OrchestratorEnv;
  clients: ReturnType<typeof createClients>;
  exec: EcsExec;
  /** An existing bucket's versioning problem (null: fine or not checked), read once per cold start. */
  versioning: Promise<VersioningProblem | null>;
} | null = null;

// Environment and clients are set up once per container (cold start), not per invocation.
function setup() {
  if (cached === null) {
    const env = readEnv();
    const clients = createClients(env);
    const exec = new EcsExec({
      ecs: clients.ecs,
      kms: clients.kms,
      ssm: clients.ssm,
      onTerminateError: (sessionId, error) =>
        telemetry.logger.warn('ssm:TerminateSession failed; the session holds a slot of its container until its idle timeout', { sessionId, error: errorMessage(error) }),
    });
    const versioning = env.checkBucketVersioning ? findVersioningProblem({ env, s3: clients.s3 }) : Promise.resolve(null);
    cached = { env, clients, exec, versioning };
  }
  return cached;
}

/** The Lambda entry point: parses the event and dispatches on its action. */
export async function handler(event: unknown, context: LambdaContext): Promise<HandlerResult> {
  const request = parseEvent(event);
  const { env, clients, exec, versioning } = setup();
  const deps: Deps = {
    env,
    ...clients,
    exec,
    state: new EfsState(env.efsMountPath),
    telemetry,
    uploadSlots: new Semaphore(MAX_CONCURRENT_UPLOADS),
    deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  reportVersioningProblem(deps, await versioning);
  switch (request.action) {
    case 'scheduled': {
      // The fleet: bounded concurrency, a time budget and an hourly rotation (fleet-run.ts says why not a fan-out);
      // targets of one service share its ListTasks/DescribeTasks.
      const fleet = { ...deps, tasks: cachedServiceTasks(clients.ecs) };
      const ages = new Map<string, ObservedAge>();
      const results = await runFleet(env.targets, (t) => guarded(fleet, t, false, (age) => ages.set(t.name, age)), {
        deadline: deps.deadline,
        now: Date.now,
        order: (targets) => fleetOrder(targets, deps.now()),
        deferred: (t): TargetOutcome => ({ target: t.name, outcome: 'deferred', reason: "the invocation's time budget ran out first; the next hour looks at it" }),
      });
      const deferred = results.filter((r) => r.outcome === 'deferred').length;
      if (deferred > 0) telemetry.logger.warn('time budget spent before every target was looked at', { deferred, targets: results.length });
      if (env.ageLimitHours !== undefined) reportStaleTargets(telemetry, env.targets, env.ageLimitHours, ages);
      return { action: 'scheduled', results };
    }
    case 'backup':
      return { action: 'backup', results: [await guarded(deps, targetNamed(env, request.target), true)] };
    case 'probe':
      return { action: 'probe', ...(await answerProbe(deps.state, targetNamed(env, request.target).name, request)) };
    case 'status':
      return { action: 'status', targets: await readRunStatus(deps.state, env.targets, deps.now()) };
    // Restores and drills load their code when first asked for (a chunk of the bundle): cold starts compile the backup path only.
    case 'restore': {
      const { runRestore } = await import('./restore/restore-workflow.js');
      return { action: 'restore', result: await runRestore(deps, targetNamed(env, request.target), request) };
    }
    case 'drill': {
      const { runDrill } = await import('./drill/drill-workflow.js');
      return { action: 'drill', result: await runDrill(deps, targetNamed(env, request.target), request.runId) };
    }
  }
}

function targetNamed(env: OrchestratorEnv, name: string): Target {
  const target = env.targets.find((t) => t.name === name);
  if (!target) {
    throw new ConfigError(`unknown target "${name}": configured targets are ${env.targets.map((t) => t.name).join(', ')}`);
  }
  return target;
}

/** One target's step; an unexpected error becomes that target's failed outcome, never the others'. */
async function guarded(deps: Deps, target: Target, manual: boolean, onAge?: (age: ObservedAge) => void): Promise<TargetOutcome> {
  try {
    // The schedule also carries on restores and drills, and starts due drills (scheduled.ts).
    return await (manual ? runBackup(deps, target, true) : runScheduled(deps, target, onAge));
  } catch (error) {
    deps.telemetry.logger.error(`backup step failed: ${errorMessage(error)}`, { target: target.name, error: error instanceof Error ? error : String(error) });
    deps.telemetry.emit(target.name, { BackupFailure: 1 });
    return { target: target.name, outcome: 'failed', reason: errorMessage(error) };
  }
}
