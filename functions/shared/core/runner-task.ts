import { createHash } from 'node:crypto';
import { DEFAULT_TASK_IMAGES, TASK_BACKUP_DIR, type Target } from '../config/schema.js';
import { SECRET_FIELDS } from './db-secret.js';

/**
 * The runner task of a mode "task" target, as the stack defines it and the orchestrator starts it: one container
 * that runs the job.sh the orchestrator wrote into the run directory on EFS. Pure, shared by the infrastructure,
 * the Lambda and the tests, so all three agree on names.
 */

/** Name of the runner task's only container. */
export const RUNNER_CONTAINER = 'dump';
/** Name of the EFS volume in the task definition. */
export const RUNNER_VOLUME = 'backup';
/** The environment variable RunTask sets to the run directory (inside the task). */
export const RUN_DIR_ENV = 'ECS_DB_BACKUP_RUN_DIR';
/** The environment variable ECS fills with the secret's password; the job reads it like an exec target's passwordEnv. */
export const RUNNER_PASSWORD_ENV = 'DB_PASSWORD';

/**
 * The container's command: the job writes its own marker; its output goes to the run directory's log, which the
 * marker quotes. Only a run directory that cannot be entered reaches the container's own log (CloudWatch). No
 * quotes or glob characters: cdktf's HCL output breaks quotes inside the container definitions' JSON, and the run
 * directory (`/backup/<target>/<run id>`) is made of characters that need none.
 */
export const RUNNER_ENTRYPOINT = ['/bin/sh', '-c'] as const;
/** The script RUNNER_ENTRYPOINT runs. */
export const RUNNER_SCRIPT = `cd $${RUN_DIR_ENV} || { echo error: cannot enter the run directory $${RUN_DIR_ENV} - is the backup EFS mounted at ${TASK_BACKUP_DIR} >&2; exit 70; }; exec /bin/sh job.sh >log 2>&1`;

/** Task definition family of a target's runner task in a deployment: `<deployment name>-runner-<target>`. */
export function runnerFamily(deploymentName: string, target: Pick<Target, 'name'>): string {
  return `${deploymentName}-runner-${target.name}`;
}

/**
 * Name of a runner task's execution or task role: `<deployment>-runner-<target>-exec|task`, or, past IAM's 64
 * characters, the target's name replaced by a hash of it (distinct names stay distinct).
 */
export function runnerRoleName(deploymentName: string, target: Pick<Target, 'name'>, kind: 'exec' | 'task'): string {
  const name = `${deploymentName}-runner-${target.name}-${kind}`;
  return name.length <= 64 ? name : `${deploymentName}-runner-${createHash('sha256').update(target.name).digest('hex').slice(0, 12)}-${kind}`;
}

/** The image of a target's runner task. */
export function runnerImage(target: Pick<Target, 'engine' | 'task'>): string {
  return target.task?.image ?? DEFAULT_TASK_IMAGES[target.engine];
}

/** The `secrets` entry of the container: the password field of the target's secret (ECS's `<arn>:<json key>::` form). */
export function runnerSecrets(secretArn: string): { name: string; valueFrom: string }[] {
  return [{ name: RUNNER_PASSWORD_ENV, valueFrom: `${secretArn}:${SECRET_FIELDS.password}::` }];
}

/** What the container definition needs beyond the target. */
export interface RunnerContainerOptions {
  /** CloudWatch log group of the runner tasks; none: no log configuration. */
  logGroup?: string;
  region: string;
}

/** The container definition of a target's runner task (ECS's JSON shape, as RegisterTaskDefinition takes it). */
export function runnerContainerDefinition(target: Target & { secretArn: string }, opts: RunnerContainerOptions): Record<string, unknown> {
  return {
    name: RUNNER_CONTAINER,
    image: runnerImage(target),
    essential: true,
    // The images' own entry points would start a server; the job is all this task runs.
    entryPoint: [...RUNNER_ENTRYPOINT],
    command: [RUNNER_SCRIPT],
    secrets: runnerSecrets(target.secretArn),
    mountPoints: [{ sourceVolume: RUNNER_VOLUME, containerPath: TASK_BACKUP_DIR, readOnly: false }],
    // An init process reaps the dump tools' children and passes StopTask's SIGTERM on to the job, which then writes its marker.
    linuxParameters: { initProcessEnabled: true },
    ...(opts.logGroup
      ? { logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': opts.logGroup, 'awslogs-region': opts.region, 'awslogs-stream-prefix': target.name } } }
      : {}),
  };
}
