import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { BUSYBOX_PATH } from './pty-runner.js';

/**
 * Run tasks on the ECS stand-in: RegisterTaskDefinition, RunTask, DescribeTasks and StopTask of one-off tasks. A task's
 * essential container runs as a local process (entryPoint + command, no shell of its own) in a private mount namespace
 * with its EFS volumes bind-mounted, its environment (the image's, the definition's, RunTask's overrides) and its
 * secrets read from Secrets Manager (moto in tests) the way ECS does before the container starts. Stop codes, reasons
 * and exit codes are ECS's.
 */

type Json = Record<string, unknown>;

/** What an image stands for on this machine: its environment (PATH to the tools it ships) and its /bin/sh. */
export interface StandinImage {
  env?: Record<string, string>;
  shell?: 'dash' | 'busybox';
}

/** How run tasks find images, EFS and secrets. */
export interface RunTaskWorld {
  region: string;
  accountId: string;
  /** Image reference → what it stands for; a task whose image is not here fails like an image that cannot be pulled. */
  images: Record<string, StandinImage>;
  /** EFS file system id or access point id → host directory (an access point's is its root directory). */
  efs: Record<string, string>;
  /** Where `secrets` of container definitions are read (none: a task with secrets fails to start). */
  secrets?: SecretsManagerClient | undefined;
  /** How long StopTask waits after SIGTERM before SIGKILL (ECS: the container's stopTimeout, default 30 s). */
  stopTimeoutMs: number;
  clusterExists(name: string): boolean;
}

/** One running or stopped task. */
interface RunTask {
  id: string;
  arn: string;
  cluster: string;
  definition: Json;
  container: string;
  startedBy?: string;
  lastStatus: 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'DEPROVISIONING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  exitCode?: number;
  containerReason?: string;
  child?: ChildProcess;
  /** The container's stdout and stderr (their last 8 KiB): the stand-in's CloudWatch log stream. */
  output: string;
}

/** An ECS API error, thrown to the API layer (`type` becomes `__type`). */
export type ApiError = (type: string, message: string) => Error;

// Runs inside the private mount namespace: bind each `host container` pair, then exec the container's argv.
// A directory's mount point is created first; a file (busybox over /bin/sh) is bound over the existing one.
const SETUP = 'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do { [ ! -d "$1" ] || mkdir -p "$2"; } && mount --bind "$1" "$2" || exit 126; shift 2; done; shift; exec "$@"';

/** The stand-in's task definitions and run tasks. */
export class RunTasks {
  private readonly definitions = new Map<string, Json[]>();
  private readonly tasks = new Map<string, RunTask>();
  private readonly byToken = new Map<string, string>();

  constructor(
    private readonly world: RunTaskWorld,
    private readonly error: ApiError,
  ) {}

  /** Whether `ref` (id or ARN) is one of the run tasks. */
  has(ref: string): boolean {
    return this.tasks.has(lastSegment(ref));
  }

  /** A registered task definition by family, family:revision or ARN, or undefined. */
  definition(ref: string): Json | undefined {
    const [family, revision] = lastSegment(ref).split(':');
    const revisions = this.definitions.get(family ?? '') ?? [];
    return revision === undefined ? revisions.at(-1) : revisions[Number(revision) - 1];
  }

  registerTaskDefinition(input: Json): Json {
    const family = String(input.family ?? '');
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) throw this.error('ClientException', 'Family contains invalid characters.');
    const containers = Array.isArray(input.containerDefinitions) ? (input.containerDefinitions as Json[]) : [];
    if (containers.length === 0) throw this.error('ClientException', 'Container list cannot be empty.');
    const revisions = this.definitions.get(family) ?? [];
    const revision = revisions.length + 1;
    const definition = { ...input, family, revision, status: 'ACTIVE', taskDefinitionArn: this.arn(`task-definition/${family}:${revision}`) };
    revisions.push(definition);
    this.definitions.set(family, revisions);
    return { taskDefinition: definition };
  }

  runTask(input: Json): Json {
    const cluster = lastSegment(String(input.cluster ?? 'default'));
    if (!this.world.clusterExists(cluster)) throw this.error('ClusterNotFoundException', 'Cluster not found.');
    const definition = this.definition(String(input.taskDefinition ?? ''));
    if (!definition) throw this.error('InvalidParameterException', 'TaskDefinition not found.');
    const network = (input.networkConfiguration as { awsvpcConfiguration?: { subnets?: unknown[] } } | undefined)?.awsvpcConfiguration;
    if (definition.networkMode === 'awsvpc' && !(network?.subnets && network.subnets.length > 0)) {
      throw this.error('InvalidParameterException', "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    }
    const token = typeof input.clientToken === 'string' ? input.clientToken : undefined;
    const known = token === undefined ? undefined : this.byToken.get(token);
    if (known) return { tasks: [this.describe(this.tasks.get(known)!)], failures: [] };
    const essential = ((definition.containerDefinitions as Json[]).find((c) => c.essential !== false) ?? (definition.containerDefinitions as Json[])[0])!;
    const id = createHash('sha256').update(`${Date.now()}/${Math.random()}`).digest('hex').slice(0, 32);
    const task: RunTask = {
      id,
      arn: this.arn(`task/${cluster}/${id}`),
      cluster,
      definition,
      container: String(essential.name),
      ...(typeof input.startedBy === 'string' ? { startedBy: input.startedBy } : {}),
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: Date.now() / 1000,
      output: '',
    };
    this.tasks.set(id, task);
    if (token !== undefined) this.byToken.set(token, id);
    const overrides = ((input.overrides as { containerOverrides?: Json[] } | undefined)?.containerOverrides ?? []).find((o) => o.name === task.container);
    void this.start(task, essential, overrides);
    return { tasks: [this.describe(task)], failures: [] };
  }

  describeTask(ref: string): Json | undefined {
    const task = this.tasks.get(lastSegment(ref));
    return task ? this.describe(task) : undefined;
  }

  stopTask(input: Json): Json {
    const task = this.tasks.get(lastSegment(String(input.task ?? '')));
    if (!task) throw this.error('InvalidParameterException', 'The referenced task was not found.');
    if (task.desiredStatus !== 'STOPPED') {
      task.desiredStatus = 'STOPPED';
      task.stopCode = 'UserInitiated';
      task.stoppedReason = typeof input.reason === 'string' && input.reason !== '' ? input.reason : 'Task stopped by user';
      this.signal(task, 'SIGTERM');
      const kill = setTimeout(() => this.signal(task, 'SIGKILL'), this.world.stopTimeoutMs);
      kill.unref();
    }
    return { task: this.describe(task) };
  }

  /** Kills every task still running (the stand-in stops). */
  stopAll(): void {
    for (const task of this.tasks.values()) this.signal(task, 'SIGKILL');
  }

  private async start(task: RunTask, container: Json, overrides: Json | undefined): Promise<void> {
    const image = this.world.images[String(container.image)];
    if (!image) {
      return this.failToStart(task, 'CannotPullContainerError', `CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref ${String(container.image)}: not found`);
    }
    let secrets: Record<string, string>;
    try {
      secrets = await this.readSecrets((container.secrets as { name: string; valueFrom: string }[] | undefined) ?? []);
    } catch (error) {
      return this.failToStart(task, 'ResourceInitializationError', `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): ${(error as Error).message}`);
    }
    if (task.desiredStatus === 'STOPPED') return this.stopped(task, undefined);
    let binds: string[];
    try {
      binds = this.binds(task.definition, container, image);
    } catch (error) {
      return this.failToStart(task, 'ResourceInitializationError', `ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: ${(error as Error).message}`);
    }
    const env = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      ...image.env,
      ...pairs(container.environment),
      ...pairs(overrides?.environment),
      ...secrets,
    };
    const argv = [...strings(overrides?.command ?? container.entryPoint), ...strings(overrides?.command ? [] : container.command)];
    const child = spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/dash', '-c', SETUP, 'standin-task', ...binds, '--', ...argv], {
      env,
      cwd: '/',
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    task.child = child;
    const keep = (b: Buffer) => (task.output = (task.output + b.toString()).slice(-8192));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    task.lastStatus = 'RUNNING';
    task.startedAt = Date.now() / 1000;
    child.once('error', (error) => {
      task.containerReason = `CannotStartContainerError: ${error.message}`;
      this.stopped(task, undefined);
    });
    child.once('exit', (code, signal) => {
      const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 9) : 9);
      this.stopped(task, exitCode);
    });
  }

  /** ECS's reading of `secrets`: `<secret arn>[:<json key>[:<version stage>[:<version id>]]]`. */
  private async readSecrets(entries: { name: string; valueFrom: string }[]): Promise<Record<string, string>> {
    const values: Record<string, string> = {};
    for (const { name, valueFrom } of entries) {
      const parts = valueFrom.split(':');
      if (parts[2] !== 'secretsmanager' || parts.length < 7) throw new Error(`invalid secret reference ${valueFrom}`);
      if (!this.world.secrets) throw new Error('the stand-in was started without a Secrets Manager client');
      const [jsonKey, stage, versionId] = parts.slice(7);
      const response = await this.world.secrets.send(
        new GetSecretValueCommand({ SecretId: parts.slice(0, 7).join(':'), ...(stage ? { VersionStage: stage } : {}), ...(versionId ? { VersionId: versionId } : {}) }),
      ).catch((error: Error) => {
        throw new Error(`${error.name}: ${error.message}`);
      });
      const text = response.SecretString ?? '';
      if (!jsonKey) {
        values[name] = text;
        continue;
      }
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new Error('retrieved secret from Secrets Manager is not a valid JSON object');
      }
      if (!(jsonKey in json)) throw new Error(`retrieved secret from Secrets Manager did not contain json key ${jsonKey}`);
      values[name] = typeof json[jsonKey] === 'string' ? (json[jsonKey] as string) : JSON.stringify(json[jsonKey]);
    }
    return values;
  }

  /** `host container` pairs: each EFS volume the container mounts, and busybox over /bin/sh for such images. */
  private binds(definition: Json, container: Json, image: StandinImage): string[] {
    const volumes = (definition.volumes as { name: string; efsVolumeConfiguration?: Json }[] | undefined) ?? [];
    const binds: string[] = [];
    for (const mount of (container.mountPoints as { sourceVolume: string; containerPath: string }[] | undefined) ?? []) {
      const efs = volumes.find((v) => v.name === mount.sourceVolume)?.efsVolumeConfiguration;
      if (!efs) throw new Error(`volume ${mount.sourceVolume} is not an EFS volume of the task definition`);
      const accessPoint = (efs.authorizationConfig as { accessPointId?: string } | undefined)?.accessPointId;
      const root = accessPoint ? this.world.efs[accessPoint] : this.world.efs[String(efs.fileSystemId)];
      if (!root) throw new Error(`mount.nfs4: access denied by server while mounting ${accessPoint ?? String(efs.fileSystemId)}`);
      const dir = accessPoint ? root : join(root, String(efs.rootDirectory ?? '/'));
      mkdirSync(dir, { recursive: true });
      binds.push(dir, mount.containerPath);
    }
    if (image.shell === 'busybox') binds.push(BUSYBOX_PATH, '/bin/sh');
    return binds;
  }

  private failToStart(task: RunTask, containerReason: string, reason: string): void {
    task.stopCode = 'TaskFailedToStart';
    task.stoppedReason = reason;
    task.containerReason = containerReason;
    this.stopped(task, undefined);
  }

  private stopped(task: RunTask, exitCode: number | undefined): void {
    if (task.lastStatus === 'STOPPED') return;
    if (exitCode !== undefined) task.exitCode = exitCode;
    if (task.stopCode === undefined) {
      task.stopCode = 'EssentialContainerExited';
      task.stoppedReason = 'Essential container in task exited';
    }
    task.desiredStatus = 'STOPPED';
    task.lastStatus = 'STOPPED';
    task.stoppedAt = Date.now() / 1000;
    delete task.child;
  }

  private signal(task: RunTask, signal: NodeJS.Signals): void {
    const pid = task.child?.pid;
    if (pid === undefined || task.lastStatus === 'STOPPED') return;
    try {
      // The container's processes are one process group (detached), like a container's PID namespace.
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  private describe(task: RunTask): Json {
    const stoppedFields = task.lastStatus === 'STOPPED' ? { stopCode: task.stopCode, stoppedReason: task.stoppedReason, stoppedAt: task.stoppedAt } : {};
    return {
      taskArn: task.arn,
      clusterArn: this.arn(`cluster/${task.cluster}`),
      taskDefinitionArn: task.definition.taskDefinitionArn,
      group: `family:${String(task.definition.family)}`,
      launchType: 'FARGATE',
      platformVersion: '1.4.0',
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      createdAt: task.createdAt,
      ...(task.startedAt !== undefined ? { startedAt: task.startedAt } : {}),
      ...(task.startedBy !== undefined ? { startedBy: task.startedBy } : {}),
      ...(task.stopCode !== undefined && task.desiredStatus === 'STOPPED' && task.lastStatus !== 'STOPPED' ? { stopCode: task.stopCode, stoppedReason: task.stoppedReason } : {}),
      ...stoppedFields,
      containers: [
        {
          name: task.container,
          taskArn: task.arn,
          lastStatus: task.lastStatus === 'STOPPED' ? 'STOPPED' : task.lastStatus === 'RUNNING' ? 'RUNNING' : 'PENDING',
          ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
          ...(task.containerReason !== undefined ? { reason: task.containerReason } : {}),
        },
      ],
    };
  }

  /** The container output of a run task (its CloudWatch log stream, in AWS): for tests that need to see why. */
  output(ref: string): string | undefined {
    return this.tasks.get(lastSegment(ref))?.output;
  }

  private arn(resource: string): string {
    return `arn:aws:ecs:${this.world.region}:${this.world.accountId}:${resource}`;
  }
}

function lastSegment(ref: string): string {
  return ref.startsWith('arn:') ? (ref.split('/').pop() ?? ref) : ref;
}

function pairs(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of Array.isArray(list) ? (list as { name?: unknown; value?: unknown }[]) : []) {
    if (typeof entry.name === 'string') out[entry.name] = String(entry.value ?? '');
  }
  return out;
}

function strings(list: unknown): string[] {
  return Array.isArray(list) ? list.map(String) : [];
}
