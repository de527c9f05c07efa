import { randomBytes } from 'node:crypto';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { shQuote } from '../core/scripts/quote.js';
import { errorMessage } from '../errors.js';
import { lines } from './result.js';
import type { CheckResult } from './types.js';

const { green, yellow, red } = lines('probe');

/** Runs a script in a container over ECS Exec (the shape of `EcsExec` in functions/shared/exec). */
export interface ExecRunner {
  run(options: { cluster: string; task: string; container: string; script: string; timeoutMs: number }): Promise<{ output: string; exitCode: number }>;
}

/** The request the orchestrator answers with whether it sees `file` in the target's own directory (its access point's root). */
export interface ProbeRequest {
  readonly action: 'probe';
  readonly target: string;
  readonly file: string;
  readonly expect: string;
}

/** The orchestrator's answer to a probe request: `ok` when the file is there with the expected content. */
export interface ProbeResponse {
  readonly ok: boolean;
  readonly found: boolean;
  readonly content?: string | null;
  /** Set when the orchestrator could not look at all (EFS not mounted, unreadable). */
  readonly error?: string;
}

/** What the probe needs: where to write, and whom to ask. */
export interface ProbeInput {
  readonly exec: ExecRunner;
  readonly lambda: LambdaClient;
  readonly cluster: string;
  readonly task: string;
  readonly container: string;
  readonly backupDir: string;
  readonly functionName: string;
  readonly target: string;
  /** Per exec call. */
  readonly timeoutMs?: number;
  /** Random hex source; replaceable in tests. */
  readonly random?: () => string;
}

/** Live round trip: write `<backupDir>/.probe-<random>` in the container, ask the orchestrator to read it, remove it. */
export async function runProbe(input: ProbeInput): Promise<CheckResult[]> {
  const random = input.random ?? (() => randomBytes(8).toString('hex'));
  const file = `.probe-${random()}`;
  const expect = random();
  const path = `${input.backupDir}/${file}`;
  const exec = (script: string) =>
    input.exec.run({ cluster: input.cluster, task: input.task, container: input.container, script, timeoutMs: input.timeoutMs ?? 60_000 });

  try {
    const written = await exec(`printf '%s' ${shQuote(expect)} > ${shQuote(path)}`);
    if (written.exitCode !== 0) {
      return [red('Probe: write in container', `writing ${path} exited ${written.exitCode}: ${written.output.trim()}`, `make ${input.backupDir} writable for the container's user (check the Backup mount line and the access point's POSIX user)`)];
    }
  } catch (error) {
    return [red('Probe: write in container', `ECS Exec into ${input.container} failed: ${errorMessage(error)}`, 'fix the [FAIL] lines above first; the probe needs a working ECS Exec session')];
  }
  const results: CheckResult[] = [green('Probe: write in container', path)];
  results.push(await askOrchestrator(input, { action: 'probe', target: input.target, file, expect }));
  try {
    const removed = await exec(`rm -f ${shQuote(path)}`);
    results.push(removed.exitCode === 0 ? green('Probe: cleanup', `removed ${path}`) : yellow('Probe: cleanup', `rm exited ${removed.exitCode}: ${removed.output.trim()}`, `remove ${path} by hand`));
  } catch (error) {
    results.push(yellow('Probe: cleanup', `could not remove ${path}: ${errorMessage(error)}`, `remove ${path} by hand`));
  }
  return results;
}

async function askOrchestrator(input: ProbeInput, request: ProbeRequest): Promise<CheckResult> {
  const title = 'Probe: orchestrator reads it';
  let text: string;
  try {
    const out = await input.lambda.send(
      new InvokeCommand({ FunctionName: input.functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(request)) }),
    );
    text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      return red(title, `${input.functionName} failed (${out.FunctionError}): ${text}`, "read the orchestrator's log; a deployment older than the probe action answers with an error");
    }
  } catch (error) {
    return red(title, `invoking ${input.functionName} failed: ${errorMessage(error)}`, `allow lambda:InvokeFunction on ${input.functionName} for the caller`);
  }
  let answer: ProbeResponse;
  try {
    answer = JSON.parse(text) as ProbeResponse;
  } catch {
    return red(title, `${input.functionName} answered with something that is not JSON: ${text.slice(0, 200)}`, 'deploy the current orchestrator; it answers probe requests');
  }
  if (answer.error !== undefined) {
    return red(title, `${input.functionName} could not look: ${answer.error}`, "check the orchestrator's EFS mount (the EFS mount target lines) and its log");
  }
  if (answer.found !== true) {
    return red(title, `the orchestrator does not see ${request.file} on its EFS mount`, `the container's ${input.backupDir} must be ${input.target}'s own access point, which the orchestrator reads as its directory: check the Backup mount line`);
  }
  // `ok` is the orchestrator's own comparison; the checker compares too, so an older orchestrator works as well.
  if (answer.ok !== true || answer.content?.trim() !== request.expect) {
    return red(title, `the orchestrator sees ${request.file} with other content (${JSON.stringify(answer.content)})`, 'another writer uses the same directory; run the probe again');
  }
  return green(title, `${input.functionName} sees ${request.file} with the expected content`);
}
