import { DescribeClustersCommand, ExecuteCommandCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { newNonce, OutputCollector, wrapScript } from './command-wrapper.js';
import { runDataChannel } from './data-channel.js';
import { isTargetNotConnected, mapExecuteCommandError, type ExecTarget } from './ecs-errors.js';
import { ExecDeadlineError, ExecError, KmsSessionNotSupportedError, TaskNotFoundError } from './errors.js';

/** Defaults of EcsExec and of one run. */
export const ExecDefaults = {
  attempts: 4,
  baseDelayMs: 1000,
  timeoutMs: 60_000,
  maxOutputBytes: 1024 * 1024,
  pingIntervalMs: 15_000,
  silenceTimeoutMs: 45_000,
} as const;

/** How EcsExec talks to ECS and how patient it is. */
export interface EcsExecOptions {
  ecs: ECSClient;
  /** ExecuteCommand attempts on TargetNotConnectedException (default 4) and the first backoff (default 1 s, doubled, jittered). */
  retry?: { attempts?: number; baseDelayMs?: number };
  /** WebSocket ping interval (default 15 s). */
  pingIntervalMs?: number;
  /** No frame and no pong for this long → ConnectionLostError (default 45 s). */
  silenceTimeoutMs?: number;
}

/** One command to run in one container. */
export interface ExecRunOptions {
  cluster: string;
  /** Task ARN or id. */
  task: string;
  container: string;
  /** POSIX sh script, run as /bin/sh -c with stdin from /dev/null. */
  script: string;
  /** Overall deadline in ms, ExecuteCommand retries included (default 60 000). */
  timeoutMs?: number;
  /** Raw output bytes kept in memory (default 1 MiB); the rest is counted in droppedBytes and dropped. */
  maxOutputBytes?: number;
}

/** What a finished command printed and how it exited. */
export interface ExecRunResult {
  /** stdout and stderr merged (a pty), `\r\n` normalized to `\n`, exit marker stripped. */
  output: string;
  exitCode: number;
  /** Raw output bytes beyond maxOutputBytes that were not kept. */
  droppedBytes: number;
  sessionId: string;
}

/** Runs scripts in ECS containers through ECS Exec, speaking the SSM data channel itself. */
export class EcsExec {
  private readonly kmsKeyByCluster = new Map<string, Promise<string | undefined>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: EcsExecOptions) {}

  /**
   * Runs `script` in the container and returns its output and exit status. Calls for one container run one at a
   * time: the agent allows 2 sessions per container, and one stays free for an operator.
   */
  run(options: ExecRunOptions): Promise<ExecRunResult> {
    const key = `${taskIdOf(options.cluster)}\n${taskIdOf(options.task)}\n${options.container}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(() => this.runNow(options));
    const settled = current.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return current;
  }

  private async runNow(options: ExecRunOptions): Promise<ExecRunResult> {
    const deadline = Date.now() + (options.timeoutMs ?? ExecDefaults.timeoutMs);
    const target: ExecTarget = { cluster: options.cluster, task: options.task, container: options.container };
    const nonce = newNonce();
    const command = wrapScript(options.script, nonce);
    const collector = new OutputCollector(nonce, options.maxOutputBytes ?? ExecDefaults.maxOutputBytes);

    const kmsKeyId = await this.clusterKmsKey(options.cluster);
    if (kmsKeyId) {
      throw new KmsSessionNotSupportedError(
        `cluster ${options.cluster} encrypts ECS Exec sessions with KMS key ${kmsKeyId}; KMS-encrypted sessions are not supported yet: remove kmsKeyId from the cluster's executeCommandConfiguration or back up this target another way`,
      );
    }
    const session = await this.executeCommand(target, command, deadline);
    await runDataChannel({
      streamUrl: session.streamUrl,
      tokenValue: session.tokenValue,
      sessionId: session.sessionId,
      onOutput: (chunk) => collector.push(chunk),
      isComplete: () => collector.markerSeen(),
      deadline,
      pingIntervalMs: this.opts.pingIntervalMs ?? ExecDefaults.pingIntervalMs,
      silenceTimeoutMs: this.opts.silenceTimeoutMs ?? ExecDefaults.silenceTimeoutMs,
    });
    return { ...collector.finish(), sessionId: session.sessionId };
  }

  private clusterKmsKey(cluster: string): Promise<string | undefined> {
    let cached = this.kmsKeyByCluster.get(cluster);
    if (!cached) {
      cached = this.describeClusterKmsKey(cluster);
      this.kmsKeyByCluster.set(cluster, cached);
      // Only answers are cached: a failed lookup is tried again on the next call.
      cached.catch(() => this.kmsKeyByCluster.delete(cluster));
    }
    return cached;
  }

  private async describeClusterKmsKey(cluster: string): Promise<string | undefined> {
    let response;
    try {
      response = await this.opts.ecs.send(new DescribeClustersCommand({ clusters: [cluster], include: ['CONFIGURATIONS'] }));
    } catch (error) {
      // Without ecs:DescribeClusters we cannot check up front; a KMS handshake is still detected in the session.
      if (errorName(error) === 'AccessDeniedException') return undefined;
      throw new ExecError(`could not describe cluster ${cluster}: ${(error as Error).message}`, { cause: error });
    }
    const found = response.clusters?.[0];
    if (!found) throw new TaskNotFoundError(`cluster ${cluster} was not found (${response.failures?.[0]?.reason ?? 'MISSING'}); check the cluster name and the region`);
    return found.configuration?.executeCommandConfiguration?.kmsKeyId || undefined;
  }

  private async executeCommand(target: ExecTarget, command: string, deadline: number): Promise<{ sessionId: string; streamUrl: string; tokenValue: string }> {
    const attempts = Math.max(1, this.opts.retry?.attempts ?? ExecDefaults.attempts);
    const baseDelayMs = this.opts.retry?.baseDelayMs ?? ExecDefaults.baseDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.opts.ecs.send(
          new ExecuteCommandCommand({ cluster: target.cluster, task: target.task, container: target.container, command, interactive: true }),
        );
        const session = response.session;
        if (!session?.streamUrl || !session.tokenValue) {
          throw new ExecError(`ecs:ExecuteCommand on task ${target.task} returned no session (streamUrl/tokenValue missing); retry later`);
        }
        return { sessionId: session.sessionId ?? '(no session id)', streamUrl: session.streamUrl, tokenValue: session.tokenValue };
      } catch (error) {
        if (error instanceof ExecError) throw error;
        const delay = backoffMs(baseDelayMs, attempt);
        if (!isTargetNotConnected(error) || attempt >= attempts) throw await mapExecuteCommandError(this.opts.ecs, target, error);
        if (Date.now() + delay >= deadline) {
          const mapped = await mapExecuteCommandError(this.opts.ecs, target, error);
          throw new ExecDeadlineError(`the deadline passed while retrying ecs:ExecuteCommand (${attempt} attempts): ${mapped.message}`, { cause: mapped });
        }
        await sleep(delay);
      }
    }
  }
}

/** The last path segment of an ARN: the task id of `arn:…:task/<cluster>/<id>`, the name of `arn:…:cluster/<name>`. */
export function taskIdOf(task: string): string {
  return task.slice(task.lastIndexOf('/') + 1);
}

/** Exponential backoff with jitter: base·2^(attempt−1), scaled by a random factor in [0.5, 1). */
function backoffMs(baseDelayMs: number, attempt: number): number {
  return Math.round(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorName(error: unknown): string {
  return error && typeof error === 'object' && typeof (error as { name?: unknown }).name === 'string' ? (error as { name: string }).name : '';
}
