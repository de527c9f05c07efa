import { describe, expect, it } from 'vitest';
import { formatIssues } from '../../functions/shared/config/load.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { containerBackupDir, execPlacement } from '../../functions/shared/config/target-mode.js';
import { runnerContainerDefinition, runnerImage } from '../../functions/shared/core/runner-task.js';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/app-AbCdEf';
const TASK = { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] };
const TASK_TARGET = { name: 'rds', engine: 'postgres', mode: 'task', cluster: 'c', database: 'app', secretArn: SECRET, task: TASK };
const EXEC_TARGET = { name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'postgres', database: 'app', backupDir: '/backup' };

function problems(value: unknown): string[] {
  const result = targetSchema.safeParse(value);
  return result.success ? [] : formatIssues(result.error.issues);
}

describe('target modes', () => {
  it('accepts a task target and fills its defaults', () => {
    const t = targetSchema.parse(TASK_TARGET);
    expect(t.task).toEqual({ ...TASK, cpu: 512, memoryMb: 1024, assignPublicIp: false });
    expect(runnerImage(t)).toBe('postgres:17');
    expect(containerBackupDir(t)).toBe('/backup');
    expect(() => execPlacement(t)).toThrow('target "rds" is a mode "task" target: it has no service and container to exec into');
  });

  it('keeps exec the default', () => {
    expect(targetSchema.parse(EXEC_TARGET).mode).toBe('exec');
  });

  it.each([
    ['a task target without secret and task settings', { ...TASK_TARGET, secretArn: undefined, task: undefined }, [
      'secretArn: is required for mode "task" (the runner task gets the host and credentials from it)',
      'task: is required for mode "task" (the subnets and security groups of the runner task)',
    ]],
    ['a task target with exec fields', { ...TASK_TARGET, service: 's', container: 'c', backupDir: '/b', passwordEnv: 'PW' }, [
      'service: is not used in mode "task": the dump runs in a task of its own',
      'container: is not used in mode "task": the dump runs in a task of its own',
      'backupDir: is not used in mode "task": the runner task mounts the backup EFS at /backup',
      'passwordEnv: is not used in mode "task": the password comes from secretArn',
    ]],
    ['an exec target without its placement', { ...EXEC_TARGET, service: undefined, container: undefined, backupDir: undefined }, [
      'service: is required for mode "exec" (the service whose task the dump runs in)',
      'container: is required for mode "exec" (the container the dump runs in)',
      'backupDir: is required for mode "exec" (where that container mounts the backup EFS)',
    ]],
    ['an exec target with a secret', { ...EXEC_TARGET, secretArn: SECRET }, ["secretArn: is not used in mode \"exec\": exec targets read the password from the container's environment (passwordEnv)"]],
    ['a secret that is not an ARN', { ...TASK_TARGET, secretArn: 'db/app' }, ['secretArn: must be a Secrets Manager secret ARN like "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/app-AbCdEf"']],
    ['memory Fargate has not for the CPU', { ...TASK_TARGET, task: { ...TASK, cpu: 256, memoryMb: 4096 } }, ["task.memoryMb: must be 512-2048 MiB in steps of 512 for cpu 256 (Fargate's sizes)"]],
    ['an image with shell characters', { ...TASK_TARGET, task: { ...TASK, image: 'postgres:17;id' } }, ['task.image: must be an image like "postgres:17" or "public.ecr.aws/docker/library/postgres:17"']],
  ])('refuses %s, naming each field', (_name, value, expected) => {
    expect(problems(value)).toEqual(expected);
  });

  it('builds the runner container: the image, the password from the secret only, the EFS mount, no server entry point', () => {
    const t = targetSchema.parse({ ...TASK_TARGET, task: { ...TASK, image: 'postgres:16' } });
    expect(runnerContainerDefinition({ ...t, secretArn: SECRET }, { region: 'eu-west-1', logGroup: '/x/runner-tasks' })).toMatchObject({
      name: 'dump',
      image: 'postgres:16',
      entryPoint: ['/bin/sh', '-c'],
      secrets: [{ name: 'DB_PASSWORD', valueFrom: `${SECRET}:password::` }],
      mountPoints: [{ sourceVolume: 'backup', containerPath: '/backup', readOnly: false }],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/x/runner-tasks', 'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'rds' } },
    });
  });
});
