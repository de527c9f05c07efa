import { DescribeClustersCommand, ExecuteCommandCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { KMSClient } from '@aws-sdk/client-kms';
import { TerminateSessionCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { newNonce, OutputCollector, wrapScript } from './command-wrapper.js';
import { runDataChannel } from './data-channel.js';
import { errorName, isTargetNotConnected, mapExecuteCommandError, type ExecTarget } from './ecs-errors.js';
import { ExecDeadlineError, ExecError, TaskNotFoundError } from './errors.js';
import { generateSessionDataKey, sessionTargetId } from './kms-data-key.js';

/** Defaults of EcsExec and of one run. */
export const ExecDefaults = {
  attempts: 4,
  baseDelayMs: 1000,
  timeoutMs: 60_000,
  maxOutputBytes: 1024 * 1024,
  pingIntervalMs: 15_000,
  silenceTimeoutMs: 45_000,
} as const;

/** Stands for the id of a session ExecuteCommand did not name (never seen; nothing to terminate then). */
const NO_SESSION_ID = '(no session id)';

/** How EcsExec talks to ECS, KMS and SSM, and how patient it is. */
export interface EcsExecOptions {
  ecs: ECSClient;
  /** kms:GenerateDataKey for sessions of clusters whose executeCommandConfiguration has a kmsKeyId. */
  kms: KMSClient;
  /** ssm:TerminateSession for a session still open when the client is done with it (deadline, error, no channel_closed). */
  ssm: SSMClient;
  /** Told when ssm:TerminateSession failed: the session then holds one of the container's 2 slots until its idle timeout. */
  onTerminateError?: (sessionId: string, error: unknown) => void;
  /** How long a session's handshake may take (default 15 s, the agent's limit). */
  handshakeTimeoutMs?: number;
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

    // With a KMS key the handshake has 15 s: the target id of the encryption context is looked up before the
    // session starts. Without DescribeClusters it is looked up when the agent asks for KMS.
    const kmsKeyId = await this.clusterKmsKey(options.cluster);
    let targetId = kmsKeyId ? quiet(sessionTargetId(this.opts.ecs, target)) : undefined;
    const session = await this.executeCommand(target, command, deadline);
    let open = true;
    try {
      await runDataChannel({
        streamUrl: session.streamUrl,
        tokenValue: session.tokenValue,
        sessionId: session.sessionId,
        onOutput: (chunk) => collector.push(chunk),
        isComplete: () => collector.markerSeen(),
        deadline,
        pingIntervalMs: this.opts.pingIntervalMs ?? ExecDefaults.pingIntervalMs,
        silenceTimeoutMs: this.opts.silenceTimeoutMs ?? ExecDefaults.silenceTimeoutMs,
        kms: (request, signal) => {
          targetId ??= sessionTargetId(this.opts.ecs, target);
          return generateSessionDataKey(this.opts.kms, { sessionId: session.sessionId, targetId }, request, signal);
        },
        onChannelClosed: () => {
          open = false;
        },
        ...(this.opts.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: this.opts.handshakeTimeoutMs }),
      });
    } finally {
      if (open) await this.terminate(session.sessionId);
    }
    return { ...collector.finish(), sessionId: session.sessionId };
  }

  /** Ends a session the service has not closed, so the agent kills its command and frees the container's slot. */
  private async terminate(sessionId: string): Promise<void> {
    if (sessionId === NO_SESSION_ID) return;
    try {
      await this.opts.ssm.send(new TerminateSessionCommand({ SessionId: sessionId }));
    } catch (error) {
      // Best effort: the result (or the error being thrown) is already known.
      this.opts.onTerminateError?.(sessionId, error);
    }
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
      // Without ecs:DescribeClusters the key is not known up front; the agent's handshake request still names it.
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
        return { sessionId: session.sessionId ?? NO_SESSION_ID, streamUrl: session.streamUrl, tokenValue: session.tokenValue };
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

/** The same promise, marked handled: a lookup started early must not become an unhandled rejection if unused. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
