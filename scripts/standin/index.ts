import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ecsTargetId } from '../../functions/shared/exec/kms-handshake.js';
import { AgentSession, DEFAULT_TIMINGS, type AgentKms, type AgentTimings } from './agent-session.js';
import { parseDefinition, type StandinDefinition, type StandinTask } from './definition.js';
import { EcsApi, EcsApiError, newSessionIdentity, runtimeId, type EcsState, type ExecRequest, type ExecSession, type ForceNewDeploymentHook } from './ecs-api.js';
import { seededRandom, type StandinFaults } from './faults.js';
import { RunTasks, type StandinImage } from './run-tasks.js';
import { SSM_TARGET_PREFIX, SsmApi } from './ssm-api.js';

export type { StandinContainer, StandinTask, StandinCluster, StandinDefinition } from './definition.js';
export type { StandinFaults } from './faults.js';
export { EcsApiError, type ForceNewDeploymentHook } from './ecs-api.js';
export type { StandinImage } from './run-tasks.js';
export { REAL_AGENT_TIMINGS, DEFAULT_TIMINGS, type AgentTimings } from './agent-session.js';

/*
 * Local stand-in for ECS and the ECS Exec agent (specs/ssm-data-channel.md §1.14, §2):
 *
 *   const standin = await startStandin(definition, { faults: { duplicateRate: 0.2 } });
 *   const ecs = new ECSClient({ endpoint: standin.endpoint, region: standin.region, credentials: standin.credentials });
 *
 * ExecuteCommand starts the command at once (shlex-split, no shell, under a pty in a private mount namespace
 * with the container's mounts and env) and returns a ws:// streamUrl served by the same HTTP server. On a
 * cluster with a kmsKeyId the agent first runs the KMS handshake (kms:Decrypt through `kms`, moto in tests)
 * and the command starts only once it completes. A container runs at most `sessionLimit` sessions at once.
 * SSM's TerminateSession (same endpoint: AWS_ENDPOINT_URL_SSM) ends a session.
 * UpdateService with forceNewDeployment runs the onForceNewDeployment hook (ECS replacing the tasks) before it answers.
 * RegisterTaskDefinition + RunTask run a one-off task's container as a local process (run-tasks.ts): `images` says what
 * an image stands for, `efs` where its EFS volumes are, `secrets` (moto's Secrets Manager) fills its `secrets`.
 */

/** A running stand-in for the ECS API and the ECS Exec agent. */
export interface Standin {
  /** http://127.0.0.1:port — give it to the SDK as `endpoint` (or AWS_ENDPOINT_URL_ECS). */
  endpoint: string;
  region: string;
  accountId: string;
  /** Dummy credentials (signatures are not checked). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Replaces the faults for sessions and calls from now on. */
  setFaults(f: StandinFaults): void;
  removeTask(cluster: string, taskId: string): void;
  /** Adds or replaces a task (matched by id). */
  setTask(cluster: string, task: StandinTask): void;
  /** Replaces (or, with undefined, removes) the onForceNewDeployment hook for calls from now on. */
  setForceNewDeploymentHook(hook: ForceNewDeploymentHook | undefined): void;
  /** The output (stdout and stderr) of a run task's container, as its log stream would hold it. */
  taskOutput(taskRef: string): string | undefined;
  /** Every API call received, in order; `throttled`: answered with the throttleRate fault's ThrottlingException. */
  calls: StandinCall[];
  /** Sessions whose command is still running or whose channel is still open. */
  activeSessions(): number;
  /** Ids of those sessions, oldest first. */
  activeSessionIds(): string[];
  stop(): Promise<void>;
}

/** One API call the stand-in received. */
export interface StandinCall {
  operation: string;
  input: unknown;
  throttled?: boolean;
}

/** Options of startStandin. */
export interface StandinOptions {
  faults?: StandinFaults;
  /** Default: a free port. */
  port?: number;
  /** Agent timings (default DEFAULT_TIMINGS: 200 ms initial silence; REAL_AGENT_TIMINGS has the agent's 1 s). */
  timings?: Partial<AgentTimings>;
  /**
   * Stands for ECS replacing a service's tasks: run with the cluster and service names when UpdateService has
   * `forceNewDeployment: true`, and awaited before the call answers. Throw an EcsApiError to fail the call with
   * that error (any other error answers ServerException, HTTP 500, which SDKs retry). Default: none, the call
   * only records a new deployment.
   */
  onForceNewDeployment?: ForceNewDeploymentHook;
  /** The KMS the agent decrypts session data keys with (a client of moto's KMS in tests); needed by clusters with a kmsKeyId. */
  kms?: KMSClient;
  /** The agent's Kms.RequireKMSChallengeResponse: refuse clients that do not acknowledge the random challenge (default false). */
  requireKmsChallengeResponse?: boolean;
  /** Concurrent sessions per container (default 2, the ECS agent's SessionWorkersLimit). */
  sessionLimit?: number;
  /** Run tasks: image reference → the environment (PATH to its tools) and /bin/sh it stands for. Default: none. */
  images?: Record<string, StandinImage>;
  /** Run tasks: EFS file system or access point id → host directory. Default: none. */
  efs?: Record<string, string>;
  /** Run tasks: where container `secrets` are read (a client of moto's Secrets Manager in tests). */
  secrets?: SecretsManagerClient;
  /** Run tasks: SIGTERM to SIGKILL on StopTask (default 30 s, ECS's default stopTimeout). */
  stopTimeoutMs?: number;
}

const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
/** The ECS agent's default SessionWorkersLimit (amazon-ecs-agent defaultSessionLimit). */
export const DEFAULT_SESSION_LIMIT = 2;
const DATA_CHANNEL_PATH = /^\/v1\/data-channel\/([^/?]+)/;

/** Starts the stand-in on 127.0.0.1: the ECS JSON API on POST / and the data channel on /v1/data-channel/<id>. */
export async function startStandin(def: StandinDefinition, opts: StandinOptions = {}): Promise<Standin> {
  const definition = structuredClone(parseDefinition(def));
  const region = definition.region ?? 'us-east-1';
  const accountId = definition.accountId ?? '123456789012';
  let faults: StandinFaults = { ...opts.faults };
  let throttleRandom = seededRandom(faults.seed ?? 1);
  const timings: AgentTimings = { ...DEFAULT_TIMINGS, ...opts.timings };
  const sessions = new Map<string, AgentSession>();
  /** Session id → `<cluster>/<task>/<container>`, for the per-container limit. */
  const containerOf = new Map<string, string>();
  const sessionLimit = opts.sessionLimit ?? DEFAULT_SESSION_LIMIT;
  const calls: StandinCall[] = [];
  let endpoint = '';

  const state: EcsState = {
    region,
    accountId,
    definition,
    targetNotConnectedLeft: faults.targetNotConnectedCalls ?? 0,
    startSession(request: ExecRequest): ExecSession {
      const { sessionId, tokenValue } = newSessionIdentity();
      const containerKey = `${request.cluster.name}/${request.task.id}/${request.container.name}`;
      const running = [...containerOf.values()].filter((key) => key === containerKey).length;
      const kms = agentKms(request);
      // The real agent's answer to a session over its limit is not public; the stand-in refuses it this way.
      const refusal =
        running >= sessionLimit
          ? `Session limit reached: container ${request.container.name} already has ${running} ECS Exec sessions (the agent allows ${sessionLimit}); end one (ssm:TerminateSession) or wait`
          : typeof kms === 'string'
            ? kms
            : undefined;
      const session = new AgentSession({
        sessionId,
        token: tokenValue,
        command: request.command,
        container: request.container,
        ...(refusal !== undefined ? { refusal } : typeof kms === 'object' ? { kms } : {}),
        faults: { ...faults },
        timings,
        onFinished: () => {
          sessions.delete(sessionId);
          containerOf.delete(sessionId);
        },
      });
      if (session.active) {
        sessions.set(sessionId, session);
        // A refused session holds no worker of the agent.
        if (refusal === undefined) containerOf.set(sessionId, containerKey);
      }
      const streamUrl = `${endpoint.replace(/^http/, 'ws')}/v1/data-channel/${sessionId}?role=publish_subscribe`;
      return { sessionId, tokenValue, streamUrl };
    },
    onForceNewDeployment: opts.onForceNewDeployment,
    runTasks: new RunTasks(
      {
        region,
        accountId,
        images: opts.images ?? {},
        efs: opts.efs ?? {},
        secrets: opts.secrets,
        stopTimeoutMs: opts.stopTimeoutMs ?? 30_000,
        clusterExists: (name) => definition.clusters.some((c) => c.name === name),
      },
      (type, message) => new EcsApiError(type, message),
    ),
  };
  const api = new EcsApi(state);
  const ssm = new SsmApi((sessionId) => sessions.get(sessionId)?.terminate());

  /** The agent's KMS settings for a session of this cluster, or why it cannot have them. */
  function agentKms(request: ExecRequest): AgentKms | string | undefined {
    const keyId = request.cluster.kmsKeyId;
    if (!keyId) return undefined;
    if (!opts.kms) return `the stand-in was started without a KMS client (StandinOptions.kms), so it cannot run the KMS handshake of cluster ${request.cluster.name}`;
    return {
      client: opts.kms,
      keyId,
      targetId: ecsTargetId(request.cluster.name, request.task.id, runtimeId(request.task, request.container)),
      requireChallengeResponse: opts.requireKmsChallengeResponse === true,
    };
  }

  const server = createServer((req, res) => {
    handleHttp(req, res, { ecs: api, ssm }, calls, () => throttleRandom() < (faults.throttleRate ?? 0)).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { __type: 'ServerException', message: String(error) });
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const match = DATA_CHANNEL_PATH.exec(req.url ?? '');
    const session = match ? sessions.get(decodeURIComponent(match[1]!)) : undefined;
    if (!session) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => session.attach(ws));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const clusterNamed = (name: string) => {
    const cluster = definition.clusters.find((c) => c.name === name);
    if (!cluster) throw new Error(`stand-in has no cluster ${name}`);
    return cluster;
  };

  return {
    endpoint,
    region,
    accountId,
    credentials: { accessKeyId: 'AKIASTANDIN000000000', secretAccessKey: 'standin-secret-access-key' },
    calls,
    setFaults(f) {
      faults = { ...f };
      throttleRandom = seededRandom(f.seed ?? 1);
      state.targetNotConnectedLeft = f.targetNotConnectedCalls ?? 0;
    },
    setForceNewDeploymentHook(hook) {
      state.onForceNewDeployment = hook;
    },
    removeTask(cluster, taskId) {
      const c = clusterNamed(cluster);
      c.tasks = c.tasks.filter((t) => t.id !== taskId);
    },
    setTask(cluster, task) {
      const c = clusterNamed(cluster);
      const copy = structuredClone(task);
      const index = c.tasks.findIndex((t) => t.id === task.id);
      if (index >= 0) c.tasks[index] = copy;
      else c.tasks.push(copy);
    },
    taskOutput: (ref) => state.runTasks.output(ref),
    activeSessions: () => sessions.size,
    activeSessionIds: () => [...sessions.keys()],
    async stop() {
      for (const session of [...sessions.values()]) session.stop();
      state.runTasks.stopAll();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handleHttp(
  req: IncomingMessage,
  res: ServerResponse,
  apis: { ecs: EcsApi; ssm: SsmApi },
  calls: StandinCall[],
  throttled: () => boolean,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const target = String(req.headers['x-amz-target'] ?? '');
  const prefix = [TARGET_PREFIX, SSM_TARGET_PREFIX].find((p) => target.startsWith(p));
  if (req.method !== 'POST' || prefix === undefined) {
    sendJson(res, 400, { __type: 'UnknownOperationException', message: `The stand-in only answers ECS and SSM JSON 1.1 calls, not ${req.method} ${req.url} ${target}.` });
    return;
  }
  const operation = target.slice(prefix.length);
  let input: Record<string, unknown>;
  try {
    const text = Buffer.concat(chunks).toString('utf8');
    input = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    sendJson(res, 400, { __type: 'SerializationException', message: 'Request body is not valid JSON.' });
    return;
  }
  calls.push({ operation, input });
  if (prefix === TARGET_PREFIX && throttled()) {
    calls[calls.length - 1]!.throttled = true;
    sendJson(res, 400, { __type: 'ThrottlingException', message: 'Rate exceeded' }, 'ThrottlingException');
    return;
  }
  try {
    sendJson(res, 200, prefix === TARGET_PREFIX ? await apis.ecs.call(operation, input) : apis.ssm.call(operation, input));
  } catch (error) {
    if (error instanceof EcsApiError) sendJson(res, 400, { __type: error.type, message: error.message }, error.type);
    else throw error;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}
