import { DescribeTasksCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chmodInside } from '../../shared/adapters/efs-no-follow.js';
import type { Target } from '../../shared/config/schema.js';
import { parseDbSecret, targetWithConnection } from '../../shared/core/db-secret.js';
import type { RunRecord } from '../../shared/core/run-record.js';
import { RUN_DIR_ENV, RUNNER_CONTAINER, RUNNER_PASSWORD_ENV, runnerFamily } from '../../shared/core/runner-task.js';
import { stoppedTaskReason } from '../../shared/core/task-stop.js';
import { ConfigError, errorMessage } from '../../shared/errors.js';
import type { Deps } from '../deps.js';
import { containerRunDir, JobStartError, type StartedJob, type TaskState } from './job.js';

/**
 * The task job runner, for targets ECS Exec cannot reach (managed databases, images without the tools): the
 * orchestrator writes job.sh into the run directory on EFS and starts the target's runner task (RunTask), whose
 * only container runs it with the backup EFS mounted and the password from the task definition's secrets.
 * The job is the task: it lives while the task does, and StopTask stops it.
 */

/** Task states before STOPPED: the job may still write its marker (a stopping task gets its stop timeout). */
const STOPPED = 'STOPPED';

/** The target as its job sees it: host, port, user and database from its secret (read here; the password is not kept). */
export async function taskJobTarget(deps: Deps, target: Target): Promise<Target> {
  if (target.secretArn === undefined) throw new ConfigError(`target "${target.name}" is mode "task" but has no secretArn`);
  let secretString: string | undefined;
  try {
    const response = await deps.secrets.send(new GetSecretValueCommand({ SecretId: target.secretArn }));
    secretString = response.SecretString;
  } catch (error) {
    throw new JobStartError(`cannot read secret ${target.secretArn}: ${errorMessage(error)}`, { cause: error });
  }
  const connection = parseDbSecret(secretString, target.secretArn);
  // The job reads the password from the variable ECS fills from the secret, as an exec job reads passwordEnv.
  return { ...targetWithConnection(target, connection, target.secretArn), passwordEnv: RUNNER_PASSWORD_ENV };
}

/** Writes the job into its run directory on EFS and starts the target's runner task on it. */
export async function launchTaskJob(deps: Deps, target: Target, runId: string, jobScript: string): Promise<StartedJob> {
  if (target.task === undefined) throw new ConfigError(`target "${target.name}" is mode "task" but has no task settings`);
  const dir = deps.state.runDir(target.name, runId);
  // The task's uid is the image's (or the access point's); the run directory must be writable for it. The mode is set
  // through a descriptor and job.sh created exclusively, so a link planted in their place is refused, not followed.
  await mkdir(dir, { recursive: true });
  await chmodInside(deps.state.targetDir(target.name), dir, 0o777, 'directory');
  await writeFile(join(dir, 'job.sh.tmp'), jobScript, { mode: 0o644, flag: 'wx' });
  await rename(join(dir, 'job.sh.tmp'), join(dir, 'job.sh'));
  const response = await deps.ecs.send(
    new RunTaskCommand({
      cluster: target.cluster,
      taskDefinition: runnerFamily(deps.env.deploymentName, target),
      launchType: 'FARGATE',
      count: 1,
      networkConfiguration: {
        awsvpcConfiguration: { subnets: [...target.task.subnetIds], securityGroups: [...target.task.securityGroupIds], assignPublicIp: target.task.assignPublicIp ? 'ENABLED' : 'DISABLED' },
      },
      overrides: { containerOverrides: [{ name: RUNNER_CONTAINER, environment: [{ name: RUN_DIR_ENV, value: containerRunDir(target, runId) }] }] },
      startedBy: `ecs-db-backup/${target.name}`.slice(0, 128),
      // The run id makes a retried call start no second task.
      clientToken: runId,
    }),
  );
  const task = response.tasks?.[0];
  if (!task?.taskArn) {
    const failures = (response.failures ?? []).map((f) => `${f.arn ?? '?'}: ${f.reason ?? '?'}${f.detail ? ` (${f.detail})` : ''}`).join('; ');
    throw new JobStartError(`RunTask started no task of ${runnerFamily(deps.env.deploymentName, target)} in cluster ${target.cluster}: ${failures || 'no failure given'}`);
  }
  const taskId = task.taskArn.split('/').pop()!;
  return {
    task: { taskArn: task.taskArn, taskId, clusterArn: task.clusterArn ?? target.cluster, container: RUNNER_CONTAINER },
    pid: null,
    startedAt: deps.now(),
  };
}

/** Whether the runner task has not yet STOPPED; once it has, why (stop code, reason, the container's exit code). */
export async function runnerTaskState(deps: Deps, run: RunRecord): Promise<TaskState> {
  if (!run.task) return { running: false, stopped: 'no task was recorded' };
  const response = await deps.ecs.send(new DescribeTasksCommand({ cluster: run.task.clusterArn, tasks: [run.task.taskArn] }));
  const task = response.tasks?.find((t) => t.taskArn === run.task?.taskArn);
  if (!task) return { running: false, stopped: 'ECS no longer knows the task (it keeps stopped tasks for about an hour)' };
  if (task.lastStatus !== STOPPED) return { running: true };
  return { running: false, stopped: stoppedTaskReason(task, run.task.container) };
}

/** Best effort: StopTask (ECS sends SIGTERM, the job writes its marker, SIGKILL after the stop timeout); returns why it could not, or null. */
export async function stopTaskJob(deps: Deps, run: RunRecord, reason: string): Promise<string | null> {
  if (!run.task) return 'no task recorded';
  try {
    await deps.ecs.send(new StopTaskCommand({ cluster: run.task.clusterArn, task: run.task.taskArn, reason: `ecs-db-backup: ${reason}`.slice(0, 255) }));
    return null;
  } catch (error) {
    return errorMessage(error);
  }
}
