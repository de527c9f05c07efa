import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { listBackups } from '../../functions/shared/adapters/s3-backups.js';
import type { BackupConfig, Target } from '../../functions/shared/config/schema.js';
import { BackupError, errorMessage } from '../../functions/shared/errors.js';
import type { TargetRunStatus } from '../../functions/orchestrator/run-status.js';
import type { TargetFacts } from './assess.js';

/**
 * What `npm run status` reads: S3 directly (every kept dump and manifest of each target: the source of
 * truth for backups, readable even when the orchestrator is broken) and, in one invocation of the
 * orchestrator's read-only `status` action, what only the backup EFS knows (current run and progress,
 * last failure, last drill), since only the Lambda mounts it.
 */

/** The orchestrator could not be asked, or answered with an error. */
export class RunStateError extends BackupError {}

/** SDK clients of the status command. */
export interface StatusClients {
  s3: S3Client;
  lambda: LambdaClient;
}

function parseAnswer(text: string): { action?: unknown; targets?: unknown; errorMessage?: unknown } | null {
  try {
    return JSON.parse(text) as { action?: unknown; targets?: unknown; errorMessage?: unknown } | null;
  } catch {
    return null;
  }
}

/** Invokes the orchestrator's `status` action and returns its per-target report. */
export async function readRunStates(lambda: LambdaClient, functionName: string): Promise<TargetRunStatus[]> {
  let res;
  try {
    res = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from('{"action":"status"}') }));
  } catch (error) {
    throw new RunStateError(`invoking ${functionName} failed: ${errorMessage(error)}`, { cause: error });
  }
  const text = res.Payload ? Buffer.from(res.Payload).toString('utf8') : 'null';
  const answer = parseAnswer(text);
  if (res.FunctionError) throw new RunStateError(`${functionName} answered with an error: ${String(answer?.errorMessage ?? text.slice(0, 300))}`);
  if (answer?.action !== 'status' || !Array.isArray(answer.targets)) {
    throw new RunStateError(`${functionName} does not know the status action (answer: ${text.slice(0, 200)}): redeploy the stack`);
  }
  return answer.targets as TargetRunStatus[];
}

/** Reads every target's S3 listing and the orchestrator's run state; an S3 error throws, a Lambda error is kept per target. */
export async function collectFacts(config: BackupConfig, targets: readonly Target[], clients: StatusClients, functionName: string): Promise<TargetFacts[]> {
  const [listings, runStates] = await Promise.all([
    Promise.all(targets.map((t) => listBackups(clients.s3, config.bucket.name, config.keyPrefix, t.name, { includeVersions: true }))),
    readRunStates(clients.lambda, functionName).then(
      (states) => ({ states, error: null }),
      (error: unknown) => ({ states: [] as TargetRunStatus[], error: errorMessage(error) }),
    ),
  ]);
  return targets.map((target, i) => {
    const runState = runStates.states.find((s) => s.target === target.name) ?? null;
    const runStateError = runStates.error ?? (runState === null ? `${functionName} has no target "${target.name}": deploy this config` : undefined);
    return { target, listings: listings[i]!, runState, ...(runStateError !== undefined ? { runStateError } : {}) };
  });
}
