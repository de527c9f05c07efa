import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, readTargetsFile, TARGETS_FILE_NAME } from '../../functions/shared/config/load.js';
import { tempDir } from '../helpers/temp-dir.js';
import { BASE_CONFIG, onlyResource, synthStack, synthStackToDir } from '../helpers/synth.js';

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

  it('packages the validated targets in its code, next to the handler', () => {
    const config = { ...BASE_CONFIG, targets: [...BASE_CONFIG.targets, { ...BASE_CONFIG.targets[0], name: 'second-pg', database: 'other' }] };
    const stackDir = synthStackToDir(config);
    const fn = (JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { resource: { aws_lambda_function: Record<string, { filename: string }> } }).resource.aws_lambda_function;
    const zip = join(stackDir, Object.values(fn)[0]!.filename);
    expect(execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean).sort()).toEqual([TARGETS_FILE_NAME, 'index.mjs']);
    // Read back the way the Lambda reads it: from the unpacked code, re-validated.
    const codeDir = tempDir('unpacked-code');
    execFileSync('unzip', ['-q', zip, '-d', codeDir]);
    expect(readTargetsFile(join(codeDir, TARGETS_FILE_NAME))).toEqual(parseConfig(config).targets);
  });

  it('changes its code hash when a target changes, so code and targets are replaced in one step', () => {
    const hash = (config: unknown) => onlyResource(synthStack(config), 'aws_lambda_function').source_code_hash;
    const moved = { ...BASE_CONFIG, targets: [{ ...BASE_CONFIG.targets[0], schedule: '0 3 * * *' }] };
    expect(hash(moved)).not.toEqual(hash(BASE_CONFIG));
    expect(hash(BASE_CONFIG)).toEqual(hash(BASE_CONFIG));
  });

  it('carries the settings in its environment and the targets file by name', () => {
    const config = { ...BASE_CONFIG, keyPrefix: 'db/' };
    const variables = (onlyResource(synthStack(config), 'aws_lambda_function').environment as { variables: Record<string, string> }).variables;
    expect(Object.keys(variables).sort()).toEqual([
      'BACKUP_TARGETS_FILE',
      'BUCKET',
      'EFS_MOUNT_PATH',
      'FAST_PATH_SECONDS',
      'KEY_PREFIX',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
    ]);
    expect(variables).toMatchObject({
      BACKUP_TARGETS_FILE: TARGETS_FILE_NAME,
      BUCKET: 'acme-db-backups',
      KEY_PREFIX: 'db/',
      EFS_MOUNT_PATH: '/mnt/backup',
      POWERTOOLS_SERVICE_NAME: 'ecs-db-backup',
      POWERTOOLS_METRICS_NAMESPACE: 'EcsDbBackup',
    });
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

  it('takes targets that would never fit in the Lambda environment, which stays small', () => {
    // Hashes do not compress: these 60 targets overflowed the 4 KB environment when they travelled in it.
    const hex = (i: number, salt: string) => createHash('sha256').update(`${salt}${i}`).digest('hex');
    const targets = Array.from({ length: 60 }, (_, i) => ({
      ...BASE_CONFIG.targets[0],
      name: `t${hex(i, 'name').slice(0, 30)}`,
      service: `s${hex(i, 'service')}`,
      database: `d${hex(i, 'database').slice(0, 60)}`,
    }));
    const variables = (onlyResource(synthStack({ ...BASE_CONFIG, targets }), 'aws_lambda_function').environment as { variables: Record<string, string> }).variables;
    expect(Object.entries(variables).reduce((n, [k, v]) => n + k.length + v.length, 0)).toBeLessThan(1024);
  });
});
