import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, policyStatements, resources, synthStack } from '../helpers/synth.js';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/rds-AbCdEf';
const TASK_TARGET = {
  name: 'rds',
  engine: 'postgres',
  mode: 'task',
  cluster: 'runners',
  database: 'app',
  secretArn: SECRET,
  task: { image: 'postgres:16', cpu: 1024, memoryMb: 2048, subnetIds: ['subnet-0a1b2c3d4e5f60711'], securityGroupIds: ['sg-0a1b2c3d4e5f60755'] },
};
const WITH_RUNNER = { ...BASE_CONFIG, targets: [...BASE_CONFIG.targets, TASK_TARGET] };

describe('runner tasks', () => {
  it('create nothing without a mode "task" target', () => {
    const synth = synthStack();
    expect(resources(synth, 'aws_ecs_task_definition')).toEqual([]);
    expect(JSON.stringify(policyStatements(synth, 'role_permissions'))).not.toMatch(/RunTask|PassRole|secretsmanager/);
  });

  it('define one Fargate task per target: its image, size, roles and the access point as its volume', () => {
    const synth = synthStack(WITH_RUNNER);
    const [definition] = resources(synth, 'aws_ecs_task_definition') as Record<string, any>[];
    expect(definition).toMatchObject({
      family: 'ecs-db-backup-runner-rds',
      requires_compatibilities: ['FARGATE'],
      network_mode: 'awsvpc',
      cpu: '1024',
      memory: '2048',
      volume: [{ name: 'backup', efs_volume_configuration: { file_system_id: BASE_CONFIG.efs.fileSystemId, transit_encryption: 'ENABLED', authorization_config: { iam: 'ENABLED' } } }],
    });
    expect(definition!.container_definitions).toContain('postgres:16');
    expect(definition!.container_definitions).toContain(`${SECRET}:password::`);
  });

  it('let the execution role read only the target secret, and the task role only mount the access point', () => {
    const synth = synthStack(WITH_RUNNER);
    expect(policyStatements(synth, 'rds-execution-permissions').map((s) => [s.actions, s.resources])).toEqual([
      [['secretsmanager:GetSecretValue'], [SECRET]],
      [['logs:CreateLogStream', 'logs:PutLogEvents'], [expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.runners_logs_\w+\.arn\}:\*$/)]],
    ]);
    expect(policyStatements(synth, 'rds-task-permissions').map((s) => s.actions)).toEqual([['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']]);
    const assume = policyStatements(synth, 'runners_assume')[0]!;
    expect(assume.principals).toEqual([{ type: 'Service', identifiers: ['ecs-tasks.amazonaws.com'] }]);
    expect(assume.condition?.[0]?.variable).toBe('aws:SourceAccount');
  });

  it('let the tasks reach EFS over NFS', () => {
    const rules = resources(synthStack(WITH_RUNNER), 'aws_vpc_security_group_ingress_rule') as Record<string, unknown>[];
    expect(rules).toContainEqual(expect.objectContaining({ security_group_id: BASE_CONFIG.efs.mountTargetSecurityGroupId, referenced_security_group_id: 'sg-0a1b2c3d4e5f60755', from_port: 2049, to_port: 2049 }));
  });
});
