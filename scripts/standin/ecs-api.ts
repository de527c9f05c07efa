import { createHash, randomBytes } from 'node:crypto';
import type { StandinCluster, StandinContainer, StandinDefinition, StandinTask } from './definition.js';
import type { RunTasks } from './run-tasks.js';

/** An ECS API error as the service returns it (`__type` + `message`, HTTP 400). */
export class EcsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

/** Messages ECS returns, verbatim. */
export const EcsMessages = {
  execNotEnabled:
    "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again.",
  interactiveOnly: 'Interactive is the only mode supported currently.',
  targetNotConnected: 'The execute command failed due to an internal error. Try again later.',
  clusterNotFound: 'Cluster not found.',
  taskLength: 'task length should be one of [32,36]',
  taskNotFound: 'The specified task was not found.',
  serviceNotFound: 'Service not found.',
} as const;

/**
 * What the stand-in does when UpdateService forces a new deployment: stands for ECS replacing the service's
 * tasks (e.g. restart a server on its data directory). Gets the cluster and service names. Throwing an
 * EcsApiError fails the call with that error; any other error fails it with ServerException (HTTP 500).
 */
export type ForceNewDeploymentHook = (cluster: string, service: string) => Promise<void> | void;

/** What ExecuteCommand hands to the data-channel side. */
export interface ExecRequest {
  cluster: StandinCluster;
  task: StandinTask;
  container: StandinContainer;
  command: string;
}

/** A new session, as the agent side registers it. */
export interface ExecSession {
  sessionId: string;
  tokenValue: string;
  streamUrl: string;
}

/** The mutable world the API answers from. */
export interface EcsState {
  region: string;
  accountId: string;
  definition: StandinDefinition;
  /** Remaining ExecuteCommand calls that fail with TargetNotConnectedException. */
  targetNotConnectedLeft: number;
  startSession(request: ExecRequest): ExecSession;
  /** Run (and awaited) before UpdateService with forceNewDeployment answers; none: the call only records a deployment. */
  onForceNewDeployment?: ForceNewDeploymentHook | undefined;
  /** Task definitions and one-off tasks (RegisterTaskDefinition, RunTask, StopTask). */
  runTasks: RunTasks;
}

/** One deployment of a service, as UpdateService reports it. */
interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  rolloutState: 'COMPLETED' | 'IN_PROGRESS';
  createdAt: number;
}

/** What UpdateService changed about a service. */
interface ServiceState {
  desiredCount?: number;
  deployments: Deployment[];
}

type Json = Record<string, unknown>;

/** The ECS JSON 1.1 operations the project calls, answered from the stand-in definition. */
export class EcsApi {
  private readonly services = new Map<string, ServiceState>();

  constructor(private readonly state: EcsState) {}

  /**
   * Runs one operation, then, for UpdateService with forceNewDeployment, awaits the state's hook before answering
   * (real ECS replaces tasks after answering; waiting keeps tests deterministic). Rejects with EcsApiError for service errors.
   */
  async call(operation: string, input: Json): Promise<Json> {
    const output = this.handle(operation, input);
    const hook = this.state.onForceNewDeployment;
    if (operation === 'UpdateService' && input.forceNewDeployment === true && hook) {
      await hook(this.cluster(input.cluster).name, lastSegment(String(input.service)));
    }
    return output;
  }

  /** Runs one operation without hooks; throws EcsApiError for service errors. */
  handle(operation: string, input: Json): Json {
    switch (operation) {
      case 'ListTasks':
        return this.listTasks(input);
      case 'DescribeTasks':
        return this.describeTasks(input);
      case 'ExecuteCommand':
        return this.executeCommand(input);
      case 'DescribeClusters':
        return this.describeClusters(input);
      case 'DescribeTaskDefinition':
        return this.describeTaskDefinition(input);
      case 'UpdateService':
        return this.updateService(input);
      case 'RegisterTaskDefinition':
        return this.state.runTasks.registerTaskDefinition(input);
      case 'RunTask':
        return this.state.runTasks.runTask(input);
      case 'StopTask':
        return this.state.runTasks.stopTask(input);
      default:
        throw new EcsApiError('UnknownOperationException', `The stand-in does not implement ${operation}.`);
    }
  }

  private arn(resource: string): string {
    return `arn:aws:ecs:${this.state.region}:${this.state.accountId}:${resource}`;
  }

  private findCluster(ref: unknown): StandinCluster | undefined {
    const name = lastSegment(typeof ref === 'string' && ref !== '' ? ref : 'default');
    return this.state.definition.clusters.find((c) => c.name === name);
  }

  private cluster(ref: unknown): StandinCluster {
    const cluster = this.findCluster(ref);
    if (!cluster) throw new EcsApiError('ClusterNotFoundException', EcsMessages.clusterNotFound);
    return cluster;
  }

  private taskArn(cluster: StandinCluster, task: StandinTask): string {
    return this.arn(`task/${cluster.name}/${task.id}`);
  }

  private taskDefinitionArn(task: StandinTask): string {
    return this.arn(`task-definition/${task.service}:1`);
  }

  private listTasks(input: Json): Json {
    const cluster = this.cluster(input.cluster);
    const desired = input.desiredStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING';
    const taskArns = cluster.tasks
      .filter((t) => input.serviceName === undefined || t.service === lastSegment(String(input.serviceName)))
      .filter((t) => ((t.lastStatus ?? 'RUNNING') === 'STOPPED' ? 'STOPPED' : 'RUNNING') === desired)
      .map((t) => this.taskArn(cluster, t));
    // Paged like ECS: at most maxResults (1-100, default 100) a page, an opaque nextToken for the rest.
    const pageSize = input.maxResults ?? LIST_TASKS_PAGE;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > LIST_TASKS_PAGE) {
      throw new EcsApiError('InvalidParameterException', 'maxResults must be between 1 and 100.');
    }
    const offset = input.nextToken === undefined ? 0 : pageOffset(input.nextToken);
    const next = offset + pageSize;
    return { taskArns: taskArns.slice(offset, next), ...(next < taskArns.length ? { nextToken: pageToken(next) } : {}) };
  }

  private describeTasks(input: Json): Json {
    const cluster = this.cluster(input.cluster);
    const refs = Array.isArray(input.tasks) ? (input.tasks as unknown[]).map(String) : [];
    if (refs.length === 0) throw new EcsApiError('InvalidParameterException', 'Tasks cannot be empty.');
    if (refs.length > LIST_TASKS_PAGE) throw new EcsApiError('InvalidParameterException', 'Tasks cannot have more than 100 elements.');
    const tasks: Json[] = [];
    const failures: Json[] = [];
    for (const ref of refs) {
      const task = cluster.tasks.find((t) => t.id === lastSegment(ref));
      const runTask = task ? undefined : this.state.runTasks.describeTask(ref);
      if (task) tasks.push(this.describeTask(cluster, task));
      else if (runTask && runTask.clusterArn === this.arn(`cluster/${cluster.name}`)) tasks.push(runTask);
      else failures.push({ arn: ref.startsWith('arn:') ? ref : this.arn(`task/${cluster.name}/${ref}`), reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  private describeTask(cluster: StandinCluster, task: StandinTask): Json {
    const taskArn = this.taskArn(cluster, task);
    const lastStatus = task.lastStatus ?? 'RUNNING';
    const startedAt = Date.parse(task.startedAt ?? '2026-01-01T00:00:00Z') / 1000;
    return {
      taskArn,
      clusterArn: this.arn(`cluster/${cluster.name}`),
      taskDefinitionArn: this.taskDefinitionArn(task),
      group: `service:${task.service}`,
      launchType: 'FARGATE',
      platformVersion: '1.4.0',
      platformFamily: 'Linux',
      attachments: task.subnetId
        ? [{ id: stableUuid(`${task.id}/eni`), type: 'ElasticNetworkInterface', status: 'ATTACHED', details: [{ name: 'subnetId', value: task.subnetId }] }]
        : [],
      lastStatus,
      desiredStatus: lastStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING',
      enableExecuteCommand: task.enableExecuteCommand ?? true,
      startedAt,
      createdAt: startedAt,
      containers: task.containers.map((c) => ({
        containerArn: this.containerArn(cluster, task, c),
        taskArn,
        name: c.name,
        runtimeId: runtimeId(task, c),
        lastStatus,
        managedAgents:
          (task.enableExecuteCommand ?? true)
            ? [{ name: 'ExecuteCommandAgent', lastStatus: c.agentStatus ?? 'RUNNING', lastStartedAt: startedAt }]
            : [],
      })),
      overrides: { containerOverrides: task.containers.map((c) => ({ name: c.name })), inferenceAcceleratorOverrides: [] },
    };
  }

  private containerArn(cluster: StandinCluster, task: StandinTask, container: StandinContainer): string {
    return this.arn(`container/${cluster.name}/${task.id}/${stableUuid(`${task.id}/${container.name}`)}`);
  }

  private executeCommand(input: Json): Json {
    if (input.interactive !== true) throw new EcsApiError('InvalidParameterException', EcsMessages.interactiveOnly);
    const cluster = this.cluster(input.cluster);
    const ref = lastSegment(String(input.task ?? ''));
    const task = cluster.tasks.find((t) => t.id === ref);
    if (!task) {
      if (ref.length !== 32 && ref.length !== 36) throw new EcsApiError('InvalidParameterException', EcsMessages.taskLength);
      throw new EcsApiError('InvalidParameterException', EcsMessages.taskNotFound);
    }
    const containerName = typeof input.container === 'string' ? input.container : undefined;
    if (containerName === undefined && task.containers.length > 1) {
      throw new EcsApiError('InvalidParameterException', 'The container name must be specified when the task has more than one container.');
    }
    const container = containerName === undefined ? task.containers[0] : task.containers.find((c) => c.name === containerName);
    if (!container) throw new EcsApiError('InvalidParameterException', `The container ${containerName} was not found in the task.`);
    const running = (task.lastStatus ?? 'RUNNING') === 'RUNNING';
    if (!running || !(task.enableExecuteCommand ?? true) || (container.agentStatus ?? 'RUNNING') !== 'RUNNING') {
      throw new EcsApiError('InvalidParameterException', EcsMessages.execNotEnabled);
    }
    if (this.state.targetNotConnectedLeft > 0) {
      this.state.targetNotConnectedLeft--;
      throw new EcsApiError('TargetNotConnectedException', EcsMessages.targetNotConnected);
    }
    if (typeof input.command !== 'string' || input.command === '') {
      throw new EcsApiError('InvalidParameterException', 'Command cannot be empty.');
    }
    const session = this.state.startSession({ cluster, task, container, command: input.command });
    return {
      clusterArn: this.arn(`cluster/${cluster.name}`),
      containerArn: this.containerArn(cluster, task, container),
      containerName: container.name,
      interactive: true,
      session,
      taskArn: this.taskArn(cluster, task),
    };
  }

  private describeClusters(input: Json): Json {
    const refs = Array.isArray(input.clusters) && input.clusters.length > 0 ? (input.clusters as unknown[]).map(String) : ['default'];
    const include = Array.isArray(input.include) ? (input.include as unknown[]) : [];
    const clusters: Json[] = [];
    const failures: Json[] = [];
    for (const ref of refs) {
      const cluster = this.findCluster(ref);
      if (!cluster) {
        failures.push({ arn: ref.startsWith('arn:') ? ref : this.arn(`cluster/${ref}`), reason: 'MISSING' });
        continue;
      }
      const running = cluster.tasks.filter((t) => (t.lastStatus ?? 'RUNNING') === 'RUNNING').length;
      const executeCommandConfiguration: Json = { logging: cluster.logging ?? 'DEFAULT' };
      if (cluster.kmsKeyId) executeCommandConfiguration.kmsKeyId = cluster.kmsKeyId;
      clusters.push({
        clusterArn: this.arn(`cluster/${cluster.name}`),
        clusterName: cluster.name,
        status: 'ACTIVE',
        runningTasksCount: running,
        pendingTasksCount: 0,
        activeServicesCount: new Set(cluster.tasks.map((t) => t.service)).size,
        ...(include.includes('CONFIGURATIONS') ? { configuration: { executeCommandConfiguration } } : {}),
      });
    }
    return { clusters, failures };
  }

  private describeTaskDefinition(input: Json): Json {
    const registered = this.state.runTasks.definition(String(input.taskDefinition ?? ''));
    if (registered) return { taskDefinition: registered, tags: [] };
    const ref = lastSegment(String(input.taskDefinition ?? ''));
    const family = ref.split(':')[0];
    const task = this.state.definition.clusters.flatMap((c) => c.tasks).find((t) => t.service === family);
    if (!task) throw new EcsApiError('ClientException', 'Unable to describe task definition.');
    const volumes = task.containers
      .filter((c) => c.efsVolume)
      .map((c) => ({
        name: `efs-${c.name}`,
        efsVolumeConfiguration: {
          fileSystemId: c.efsVolume!.fileSystemId,
          rootDirectory: c.efsVolume!.rootDirectory ?? '/',
          transitEncryption: 'ENABLED',
          ...(c.efsVolume!.accessPointId ? { authorizationConfig: { accessPointId: c.efsVolume!.accessPointId, iam: 'ENABLED' } } : {}),
        },
      }));
    return {
      taskDefinition: {
        taskDefinitionArn: this.taskDefinitionArn(task),
        family: task.service,
        revision: 1,
        status: 'ACTIVE',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        ...(task.taskRoleArn ? { taskRoleArn: task.taskRoleArn } : {}),
        ...(task.pidMode ? { pidMode: task.pidMode } : {}),
        containerDefinitions: task.containers.map((c) => ({
          name: c.name,
          essential: true,
          readonlyRootFilesystem: c.readonlyRootFilesystem ?? false,
          linuxParameters: { initProcessEnabled: c.initProcessEnabled ?? false },
          environment: Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value })),
          mountPoints: c.efsVolume ? [{ sourceVolume: `efs-${c.name}`, containerPath: c.efsVolume.containerPath, readOnly: false }] : [],
        })),
        volumes,
      },
      tags: [],
    };
  }

  private updateService(input: Json): Json {
    const cluster = this.cluster(input.cluster);
    const name = lastSegment(typeof input.service === 'string' ? input.service : '');
    const tasks = cluster.tasks.filter((t) => t.service === name);
    if (name === '' || tasks.length === 0) throw new EcsApiError('ServiceNotFoundException', EcsMessages.serviceNotFound);
    const key = `${cluster.name}/${name}`;
    const state = this.services.get(key) ?? { deployments: [{ id: deploymentId(), status: 'PRIMARY', rolloutState: 'COMPLETED', createdAt: Date.parse('2026-01-01T00:00:00Z') / 1000 }] };
    this.services.set(key, state);
    if (typeof input.desiredCount === 'number') {
      if (!Number.isInteger(input.desiredCount) || input.desiredCount < 0) throw new EcsApiError('InvalidParameterException', 'Desired count must be a non-negative integer.');
      state.desiredCount = input.desiredCount;
    }
    if (input.forceNewDeployment === true) {
      for (const d of state.deployments) d.status = 'ACTIVE';
      state.deployments.unshift({ id: deploymentId(), status: 'PRIMARY', rolloutState: 'IN_PROGRESS', createdAt: Date.now() / 1000 });
    }
    const runningCount = tasks.filter((t) => (t.lastStatus ?? 'RUNNING') === 'RUNNING').length;
    const desiredCount = state.desiredCount ?? runningCount;
    const taskDefinition = this.taskDefinitionArn(tasks[0]!);
    return {
      service: {
        serviceArn: this.arn(`service/${cluster.name}/${name}`),
        serviceName: name,
        clusterArn: this.arn(`cluster/${cluster.name}`),
        status: 'ACTIVE',
        desiredCount,
        runningCount,
        pendingCount: 0,
        launchType: 'FARGATE',
        platformVersion: 'LATEST',
        platformFamily: 'Linux',
        taskDefinition,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: false, rollback: false }, maximumPercent: 200, minimumHealthyPercent: 100 },
        deployments: state.deployments.map((d) => ({
          id: d.id,
          status: d.status,
          taskDefinition,
          desiredCount: d.status === 'PRIMARY' ? desiredCount : 0,
          pendingCount: 0,
          runningCount: d.rolloutState === 'COMPLETED' ? runningCount : 0,
          failedTasks: 0,
          createdAt: d.createdAt,
          updatedAt: d.createdAt,
          launchType: 'FARGATE',
          platformVersion: '1.4.0',
          platformFamily: 'Linux',
          rolloutState: d.rolloutState,
          rolloutStateReason: d.rolloutState === 'COMPLETED' ? `ECS deployment ${d.id} completed.` : `ECS deployment ${d.id} in progress.`,
        })),
        schedulingStrategy: 'REPLICA',
        enableExecuteCommand: tasks.some((t) => t.enableExecuteCommand ?? true),
        createdAt: Date.parse('2026-01-01T00:00:00Z') / 1000,
      },
    };
  }
}

/** Tasks per ListTasks page (and per DescribeTasks call) at most. */
const LIST_TASKS_PAGE = 100;

function pageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

function pageOffset(token: unknown): number {
  try {
    const { offset } = JSON.parse(Buffer.from(String(token), 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset > 0) return offset;
  } catch {
    // falls through to the error
  }
  throw new EcsApiError('InvalidParameterException', 'Invalid nextToken.');
}

/** An ECS-style deployment id: `ecs-svc/` and 19 digits. */
function deploymentId(): string {
  return `ecs-svc/${(randomBytes(8).readBigUInt64BE() % 10n ** 19n).toString().padStart(19, '0')}`;
}

function lastSegment(ref: string): string {
  return ref.startsWith('arn:') ? (ref.split('/').pop() ?? ref) : ref;
}

/** Fargate-style runtime id: `<task id>-<number>`, unless the definition gives one. */
export function runtimeId(task: StandinTask, container: StandinContainer): string {
  return container.runtimeId ?? `${task.id}-${parseInt(createHash('sha256').update(container.name).digest('hex').slice(0, 8), 16)}`;
}

function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A fresh ECS-style session id and token. */
export function newSessionIdentity(): { sessionId: string; tokenValue: string } {
  return {
    sessionId: `ecs-execute-command-${randomBytes(9).toString('hex')}`,
    tokenValue: randomBytes(96).toString('base64'),
  };
}
