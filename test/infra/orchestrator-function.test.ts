import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeTargets, parseConfig } from '../../functions/shared/config/load.js';
import { BASE_CONFIG, onlyResource, synthStack } from '../helpers/synth.js';

describe('orchestrator function', () => {
  it('runs Node.js 22 on arm64 from the zipped bundle', () => {
    const fn = onlyResource(synthStack(), 'aws_lambda_function');
    expect(fn).toMatchObject({
      function_name: 'ecs-db-backup-orchestrator',
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: expect.stringMatching(/^assets\/orchestrator_bundle_\w+\/[0-9A-F]{32}\/archive\.zip$/),
      source_code_hash: expect.stringMatching(/^[0-9A-F]{32}$/),
      role: expect.stringMatching(/^\$\{aws_iam_role\.role_\w+\.arn\}$/),
    });
  });

  it('runs in the configured subnets with its own and the extra security groups', () => {
    const fn = onlyResource(synthStack({ ...BASE_CONFIG, securityGroupIds: ['sg-0a1b2c3d4e5f60799'] }), 'aws_lambda_function');
    expect(fn.vpc_config).toEqual({
      subnet_ids: BASE_CONFIG.subnetIds,
      security_group_ids: [expect.stringMatching(/^\$\{aws_security_group\.network_lambda_\w+\.id\}$/), 'sg-0a1b2c3d4e5f60799'],
    });
  });

  it('mounts the backup access point at /mnt/backup', () => {
    expect(onlyResource(synthStack(), 'aws_lambda_function').file_system_config).toEqual({
      arn: expect.stringMatching(/^\$\{aws_efs_access_point\.efs_access-point_\w+\.arn\}$/),
      local_mount_path: '/mnt/backup',
    });
  });

  it.each([
    ['defaults', {}, { timeout: 900, memory_size: 512, reserved_concurrent_executions: 2 }, 30, '120'],
    [
      'configured',
      { timeoutSeconds: 300, memoryMb: 1024, reservedConcurrency: 5, logRetentionDays: 90, fastPathSeconds: 0 },
      { timeout: 300, memory_size: 1024, reserved_concurrent_executions: 5 },
      90,
      '0',
    ],
  ])('sizes, bounds and logs the function (%s)', (_name, lambda, expected, retention, fastPath) => {
    const synth = synthStack({ ...BASE_CONFIG, lambda });
    const fn = onlyResource(synth, 'aws_lambda_function');
    expect(fn).toMatchObject(expected);
    expect(onlyResource(synth, 'aws_cloudwatch_log_group')).toEqual({ name: '/aws/lambda/ecs-db-backup-orchestrator', retention_in_days: retention });
    expect((fn.environment as { variables: Record<string, string> }).variables.FAST_PATH_SECONDS).toBe(fastPath);
  });

  it('carries the validated targets and settings in its environment', () => {
    const config = { ...BASE_CONFIG, keyPrefix: 'db/' };
    const variables = (onlyResource(synthStack(config), 'aws_lambda_function').environment as { variables: Record<string, string> }).variables;
    expect(Object.keys(variables).sort()).toEqual([
      'BACKUP_TARGETS_GZ',
      'BUCKET',
      'EFS_MOUNT_PATH',
      'FAST_PATH_SECONDS',
      'KEY_PREFIX',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
    ]);
    expect(variables).toMatchObject({
      BUCKET: 'acme-db-backups',
      KEY_PREFIX: 'db/',
      EFS_MOUNT_PATH: '/mnt/backup',
      POWERTOOLS_SERVICE_NAME: 'ecs-db-backup',
      POWERTOOLS_METRICS_NAMESPACE: 'EcsDbBackup',
    });
    expect(decodeTargets(variables.BACKUP_TARGETS_GZ)).toEqual(parseConfig(config).targets);
  });

  it('names the KMS key in its environment when one is configured', () => {
    const kmsKeyArn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const variables = (onlyResource(synthStack({ ...BASE_CONFIG, kmsKeyArn }), 'aws_lambda_function').environment as { variables: Record<string, string> }).variables;
    expect(variables.KMS_KEY_ARN).toBe(kmsKeyArn);
  });

  it.each([
    [true, '1'],
    [false, undefined],
  ])('asks for the versioning check of the bucket when it is an existing one (%s)', (existing, expected) => {
    const synth = synthStack({ ...BASE_CONFIG, bucket: { name: 'shared-backups', existing } });
    const variables = (onlyResource(synth, 'aws_lambda_function').environment as { variables: Record<string, string> }).variables;
    expect(variables.CHECK_BUCKET_VERSIONING).toBe(expected);
  });

  it('is created after its log group and its role policy', () => {
    const fn = onlyResource(synthStack(), 'aws_lambda_function');
    expect(fn.depends_on).toEqual([
      expect.stringMatching(/^aws_cloudwatch_log_group\.orchestrator_logs_\w+$/),
      expect.stringMatching(/^aws_iam_role_policy\.role_policy_\w+$/),
    ]);
  });

  it('refuses targets that do not fit in the Lambda environment', () => {
    // Hashes do not compress, so many targets really overflow the gzip'ed environment.
    const hex = (i: number, salt: string) => createHash('sha256').update(`${salt}${i}`).digest('hex');
    const targets = Array.from({ length: 60 }, (_, i) => ({
      ...BASE_CONFIG.targets[0],
      name: `t${hex(i, 'name').slice(0, 30)}`,
      service: `s${hex(i, 'service')}`,
      database: `d${hex(i, 'database').slice(0, 60)}`,
    }));
    expect(() => synthStack({ ...BASE_CONFIG, targets })).toThrow(/^the Lambda environment would be \d+ bytes, over Lambda's 4096: split the targets over two deployments$/);
  });
});
