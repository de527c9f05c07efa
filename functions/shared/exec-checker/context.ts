import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ContainerInstance,
  type Task,
} from '@aws-sdk/client-ecs';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import type { BackupConfig, Target } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { parseArn } from './arn.js';
import { callerIdentity } from './caller-identity.js';
import type { BackupContext, CheckContext, CheckResult, Clients } from './types.js';

/** What to check: a task (ID or ARN) in a cluster, optionally one container and a backup target. */
export interface ContextInput {
  readonly cluster: string;
  readonly task: string;
  readonly container?: string;
  readonly backup?: { readonly config: BackupConfig; readonly target: Target; readonly functionName: string };
}

/** The pre-flight lines, and the context when the task was found. */
export interface LoadedContext {
  readonly preflight: CheckResult[];
  readonly context?: CheckContext;
}

const TASK = { check: 'task-exists', title: 'Task exists' } as const;

/** Runs the pre-flight checks and gathers DescribeTasks/Clusters/TaskDefinition/ContainerInstances and the Lambda once. */
export async function loadContext(clients: Clients, input: ContextInput): Promise<LoadedContext> {
  const identity = await callerIdentity(clients);
  const preflight: CheckResult[] = [identity.result];
  let task: Task | undefined;
  try {
    const out = await clients.ecs.send(new DescribeTasksCommand({ cluster: input.cluster, tasks: [input.task], include: ['TAGS'] }));
    task = out.tasks?.[0];
    if (!task?.taskDefinitionArn) {
      const reason = out.failures?.[0]?.reason;
      preflight.push(missingTask(input, reason ? ` (${reason})` : ''));
      return { preflight };
    }
  } catch (error) {
    preflight.push(missingTask(input, `: ${errorMessage(error)}`));
    return { preflight };
  }
  preflight.push({ ...TASK, verdict: 'green', message: `${task.taskArn} (${task.taskDefinitionArn})` });

  let details;
  try {
    details = await Promise.all([
      clients.ecs.send(new DescribeClustersCommand({ clusters: [task.clusterArn ?? input.cluster], include: ['CONFIGURATIONS'] })),
      clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn })),
      describeContainerInstance(clients, task),
    ]);
  } catch (error) {
    preflight.push({
      check: 'task-details',
      title: 'Task details',
      verdict: 'red',
      message: `cannot describe the cluster, task definition or container instance: ${errorMessage(error)}`,
      fix: 'allow ecs:DescribeClusters, ecs:DescribeTaskDefinition and ecs:DescribeContainerInstances for the caller',
    });
    return { preflight };
  }
  const [clusters, definition, containerInstance] = details;
  const names = (task.containers ?? []).map((c) => c.name ?? '').filter((n) => n !== '');
  let containers = names;
  if (input.container !== undefined) {
    if (!names.includes(input.container)) {
      preflight.push({
        check: 'container-exists',
        title: 'Container exists',
        verdict: 'red',
        message: `container ${input.container} is not in task ${task.taskArn}`,
        fix: `pass one of: ${names.join(', ') || '(the task has no containers)'}`,
      });
      return { preflight };
    }
    containers = [input.container];
  }
  const cluster = clusters.clusters?.[0] ?? { clusterArn: task.clusterArn };
  const region = parseArn(task.taskArn ?? '')?.region ?? (await clients.ecs.config.region());
  return {
    preflight,
    context: {
      region,
      clients,
      caller: identity.caller,
      cluster,
      execKmsKeyArn: await resolveKeyArn(clients, cluster.configuration?.executeCommandConfiguration?.kmsKeyId),
      task,
      taskDefinition: definition.taskDefinition ?? {},
      containerInstance,
      containers,
      backup: input.backup && (await loadBackup(clients, input.backup)),
    },
  };
}

function missingTask(input: ContextInput, detail: string): CheckResult {
  return {
    ...TASK,
    verdict: 'red',
    message: `task ${input.task} does not exist in cluster ${input.cluster}${detail}`,
    fix: `pass a RUNNING task from \`aws ecs list-tasks --cluster ${input.cluster}\` (stopped tasks disappear after about an hour)`,
  };
}

async function resolveKeyArn(clients: Clients, keyId: string | undefined): Promise<string | undefined> {
  if (!keyId || /^arn:[^:]+:kms:[^:]*:\d+:key\//.test(keyId)) return keyId || undefined;
  try {
    const out = await clients.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    return out.KeyMetadata?.Arn ?? keyId;
  } catch {
    // The checks simulate on the raw id then; cluster-configuration reports that it could not be resolved.
    return keyId;
  }
}

async function describeContainerInstance(clients: Clients, task: Task): Promise<ContainerInstance | undefined> {
  if (!task.containerInstanceArn) return undefined;
  const out = await clients.ecs.send(
    new DescribeContainerInstancesCommand({ cluster: task.clusterArn, containerInstances: [task.containerInstanceArn] }),
  );
  return out.containerInstances?.[0];
}

async function loadBackup(clients: Clients, backup: NonNullable<ContextInput['backup']>): Promise<BackupContext> {
  try {
    const configuration = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: backup.functionName }));
    return { ...backup, orchestrator: { configuration } };
  } catch (error) {
    return { ...backup, orchestrator: { error: errorMessage(error) } };
  }
}
