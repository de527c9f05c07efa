import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, onlyResource, policyStatements, readable, resources, synthStack } from '../helpers/synth.js';

const DR = JSON.parse(readFileSync(new URL('../../examples/disaster-recovery.json', import.meta.url), 'utf8')) as typeof BASE_CONFIG;
const VAULT_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/aaaabbbb-1111-2222-3333-444455556666';
const COPY_KEY = 'arn:aws:kms:eu-central-1:111122223333:key/ccccdddd-1111-2222-3333-444455556666';
const SNAPSHOT_TYPES = ['aws_backup_vault', 'aws_backup_plan', 'aws_backup_selection', 'aws_backup_vault_lock_configuration', 'aws_cloudwatch_event_target'];

const withSnapshots = (snapshots: object) => synthStack({ ...BASE_CONFIG, snapshots });

describe('snapshot layer', () => {
  it('is off unless configured', () => {
    const synth = synthStack();
    for (const type of ['aws_backup_vault', 'aws_backup_plan', 'aws_backup_selection', 'aws_kms_key', 'aws_sns_topic_policy']) expect(resources(synth, type)).toEqual([]);
    expect(synth.provider?.aws).toHaveLength(1);
  });

  it('creates a vault encrypted with a new, rotated KMS key when none is given', () => {
    const synth = withSnapshots({});
    const key = onlyResource(synth, 'aws_kms_key');
    expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    expect(onlyResource(synth, 'aws_backup_vault')).toEqual({
      name: 'ecs-db-backup-snapshots',
      kms_key_arn: expect.stringMatching(/^\$\{aws_kms_key\.dr_snapshots_vault_key_\w+\.arn\}$/),
    });
    expect(onlyResource(synth, 'aws_kms_alias')).toMatchObject({ name: 'alias/ecs-db-backup-snapshots' });
  });

  it('encrypts the vault with the given key and creates none', () => {
    const synth = withSnapshots({ kmsKeyArn: VAULT_KEY });
    expect(resources(synth, 'aws_kms_key')).toEqual([]);
    expect(onlyResource(synth, 'aws_backup_vault').kms_key_arn).toBe(VAULT_KEY);
  });

  it('plans a daily rule into the vault with a 7-day retention by default, and no copy', () => {
    const rule = (onlyResource(withSnapshots({}), 'aws_backup_plan').rule as object[])[0];
    expect(rule).toEqual({
      rule_name: 'daily',
      target_vault_name: expect.stringMatching(/^\$\{aws_backup_vault\.dr_snapshots_vault_\w+\.name\}$/),
      schedule: 'cron(0 3 * * ? *)',
      schedule_expression_timezone: 'UTC',
      start_window: 60,
      completion_window: 1440,
      lifecycle: { delete_after: 7 },
    });
  });

  it('selects only EBS volumes, EFS file systems, DynamoDB tables and RDS instances that carry the tag', () => {
    const selection = readable(onlyResource(withSnapshots({ tag: { key: 'backup tier', value: 'gold' } }), 'aws_backup_selection'));
    expect(selection).toEqual({
      name: 'ecs-db-backup-tagged',
      plan_id: expect.stringMatching(/^\$\{aws_backup_plan\.dr_snapshots_plan_\w+\.id\}$/),
      iam_role_arn: expect.stringMatching(/^\$\{aws_iam_role\.dr_snapshots_role_\w+\.arn\}$/),
      resources: ['arn:aws:ec2:*:*:volume/*', 'arn:aws:elasticfilesystem:*:*:file-system/*', 'arn:aws:dynamodb:*:*:table/*', 'arn:aws:rds:*:*:db:*'],
      condition: [{ string_equals: [{ key: 'aws:ResourceTag/backup tier', value: 'gold' }] }],
    });
    // selection_tag would OR with resources and select every resource of the four types
    expect(selection).not.toHaveProperty('selection_tag');
  });

  it("gives AWS Backup a role it alone can take, with the AWS-managed backup and restore policies", () => {
    const synth = withSnapshots({});
    expect(policyStatements(synth, 'dr_snapshots_assume')).toEqual([
      { actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['backup.amazonaws.com'] }] },
    ]);
    const attached = resources(synth, 'aws_iam_role_policy_attachment')
      .filter((a) => String(a.role).includes('dr_snapshots_role'))
      .map((a) => readable(a.policy_arn));
    expect(attached).toEqual([
      'arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup',
      'arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores',
    ]);
  });

  it('copies each recovery point into a vault in the second region, through its provider, with its own retention', () => {
    const synth = withSnapshots({ retentionDays: 10, copyToRegion: { region: 'us-west-2', retentionDays: 30, kmsKeyArn: 'arn:aws:kms:us-west-2:111122223333:key/x1' } });
    expect(synth.provider?.aws).toContainEqual(expect.objectContaining({ alias: 'us_west_2', region: 'us-west-2' }));
    const copyVault = resources(synth, 'aws_backup_vault').find((v) => v.name === 'ecs-db-backup-snapshots-copy');
    expect(copyVault).toEqual({ name: 'ecs-db-backup-snapshots-copy', kms_key_arn: 'arn:aws:kms:us-west-2:111122223333:key/x1', provider: 'aws.us_west_2' });
    const rule = (onlyResource(synth, 'aws_backup_plan').rule as Array<Record<string, unknown>>)[0];
    expect(rule?.lifecycle).toEqual({ delete_after: 10 });
    expect(rule?.copy_action).toEqual([
      { destination_vault_arn: expect.stringMatching(/^\$\{aws_backup_vault\.dr_snapshots_copy-vault_\w+\.arn\}$/), lifecycle: { delete_after: 30 } },
    ]);
  });

  it("keeps copies as long as the snapshots unless told otherwise, in a vault with a key of the copy region's own", () => {
    const synth = withSnapshots({ retentionDays: 9, copyToRegion: { region: 'us-west-2' } });
    const copyKey = resources(synth, 'aws_kms_key').find((k) => k.provider === 'aws.us_west_2');
    expect(copyKey).toMatchObject({ enable_key_rotation: true });
    const rule = (onlyResource(synth, 'aws_backup_plan').rule as Array<{ copy_action: Array<{ lifecycle: unknown }> }>)[0];
    expect(rule?.copy_action[0]?.lifecycle).toEqual({ delete_after: 9 });
  });

  it('locks both vaults in governance mode with no grace period', () => {
    const synth = withSnapshots({ copyToRegion: { region: 'us-west-2', kmsKeyArn: COPY_KEY.replace('eu-central-1', 'us-west-2') }, vaultLock: { mode: 'governance', minRetentionDays: 7, maxRetentionDays: 30 } });
    const locks = resources(synth, 'aws_backup_vault_lock_configuration');
    expect(locks).toEqual([
      { backup_vault_name: expect.stringContaining('dr_snapshots_copy-vault'), min_retention_days: 7, max_retention_days: 30, provider: 'aws.us_west_2' },
      { backup_vault_name: expect.stringContaining('dr_snapshots_vault'), min_retention_days: 7, max_retention_days: 30 },
    ]);
  });

  it.each([
    [undefined, 3],
    [14, 14],
  ])('locks in compliance mode with changeableForDays %s → changeable_for_days %i', (changeableForDays, expected) => {
    const lock = onlyResource(
      withSnapshots({ vaultLock: { mode: 'compliance', minRetentionDays: 1, maxRetentionDays: 7, ...(changeableForDays === undefined ? {} : { changeableForDays }) } }),
      'aws_backup_vault_lock_configuration',
    );
    expect(lock).toMatchObject({ min_retention_days: 1, max_retention_days: 7, changeable_for_days: expected });
  });

  it('synthesizes the example with everything on in two regions', () => {
    const synth = synthStack(DR);
    for (const type of SNAPSHOT_TYPES) expect(resources(synth, type).length).toBeGreaterThan(0);
    expect(synth.provider?.aws).toEqual([
      { region: 'eu-west-1', default_tags: [{ tags: { Project: 'ecs-db-backup' } }] },
      { alias: 'eu_central_1', region: 'eu-central-1', default_tags: [{ tags: { Project: 'ecs-db-backup' } }] },
    ]);
  });
});
