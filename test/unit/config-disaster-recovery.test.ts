import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/shared/config/load.js';
import { problemsOf } from '../helpers/config-problems.js';

// Drafts are deliberately malformed, so they are untyped.
type Draft = any;

const DR = JSON.parse(readFileSync(new URL('../../examples/disaster-recovery.json', import.meta.url), 'utf8')) as Draft;
const MINIMAL = JSON.parse(readFileSync(new URL('../../examples/minimal.json', import.meta.url), 'utf8')) as Draft;
const KEY_EU_CENTRAL = 'arn:aws:kms:eu-central-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';


describe('disaster-recovery config', () => {
  it('leaves every layer off unless set', () => {
    const config = parseConfig(MINIMAL);
    expect(config.snapshots).toBeUndefined();
    expect(config.replication).toBeUndefined();
    expect(config.objectLock).toBeUndefined();
  });

  it('fills the snapshot defaults: daily at 03:00 UTC, 7 days, the ecs-db-backup:snapshot=true tag, no copy, no lock', () => {
    expect(parseConfig({ ...MINIMAL, snapshots: {} }).snapshots).toEqual({
      schedule: 'cron(0 3 * * ? *)',
      timeZone: 'UTC',
      retentionDays: 7,
      tag: { key: 'ecs-db-backup:snapshot', value: 'true' },
    });
  });

  it('accepts the example with every layer on', () => {
    const config = parseConfig(DR);
    expect(config.snapshots?.copyToRegion).toEqual({ region: 'eu-central-1', retentionDays: 14 });
    expect(config.replication?.region).toBe('eu-central-1');
    expect(config.objectLock).toEqual({ mode: 'governance', days: 14 });
  });

  /** Each case breaks one thing in the example; the problems name the field and what is wrong. */
  const MALFORMED: Array<[string, (c: Draft) => unknown, string[]]> = [
    ['a 5-field cron', (c) => (c.snapshots.schedule = '0 3 * * *'), ['snapshots.schedule: must be an AWS Backup cron expression with 6 fields, like "cron(0 3 * * ? *)"']],
    [
      'a cron with both day fields set',
      (c) => (c.snapshots.schedule = 'cron(0 3 1 * MON *)'),
      ['snapshots.schedule: must have "?" in exactly one of day-of-month (3rd field) and day-of-week (5th field)'],
    ],
    ['a retention of 0 days', (c) => (c.snapshots.retentionDays = 0), [
      'snapshots.retentionDays: Too small: expected number to be >=1',
      "snapshots.retentionDays: is 0 days, outside the vault lock's 7-35: AWS Backup would refuse every backup",
    ]],
    ['a tag key in the aws: namespace', (c) => (c.snapshots.tag.key = 'aws:backup'), ['snapshots.tag.key: must be 1-128 letters, digits, spaces or _ . : / = + - @, not starting with "aws:"']],
    ['a copy into the same region', (c) => (c.snapshots.copyToRegion.region = 'eu-west-1'), ['snapshots.copyToRegion.region: must differ from the deployment region eu-west-1']],
    [
      'a copy key from another region',
      (c) => (c.snapshots.copyToRegion.kmsKeyArn = 'arn:aws:kms:us-east-1:111122223333:key/abc'),
      ['snapshots.copyToRegion.kmsKeyArn: is a key in us-east-1, but the copy vault is in eu-central-1'],
    ],
    ['a vault key from the copy region', (c) => (c.snapshots.kmsKeyArn = KEY_EU_CENTRAL), ['snapshots.kmsKeyArn: is a key in eu-central-1, but the vault is in eu-west-1']],
    ['an unknown lock mode', (c) => (c.snapshots.vaultLock.mode = 'strict'), ['snapshots.vaultLock.mode: Invalid option: expected one of "governance"|"compliance"']],
    [
      'a lock whose minimum exceeds its maximum',
      (c) => Object.assign(c.snapshots.vaultLock, { minRetentionDays: 40, maxRetentionDays: 30 }),
      [
        'snapshots.vaultLock.maxRetentionDays: must be at least minRetentionDays (40), got 30',
        "snapshots.retentionDays: is 7 days, outside the vault lock's 40-30: AWS Backup would refuse every backup",
        "snapshots.copyToRegion.retentionDays: is 14 days, outside the vault lock's 40-30: AWS Backup would refuse every backup",
      ],
    ],
    [
      'a copy retention beyond the lock maximum',
      (c) => (c.snapshots.copyToRegion.retentionDays = 90),
      ["snapshots.copyToRegion.retentionDays: is 90 days, outside the vault lock's 7-35: AWS Backup would refuse every backup"],
    ],
    [
      'a grace period in governance mode',
      (c) => (c.snapshots.vaultLock.changeableForDays = 5),
      ['snapshots.vaultLock.changeableForDays: applies to compliance mode only: drop it, or set mode to "compliance"'],
    ],
    [
      'a compliance grace period under 3 days',
      (c) => Object.assign(c.snapshots.vaultLock, { mode: 'compliance', changeableForDays: 1 }),
      ['snapshots.vaultLock.changeableForDays: Too small: expected number to be >=3'],
    ],
    ['an unknown snapshot field', (c) => (c.snapshots.retention = 7), ['snapshots: Unrecognized key: "retention"']],
    ['replication into the same region', (c) => (c.replication.region = 'eu-west-1'), ['replication.region: must differ from the deployment region eu-west-1', 'replication.kmsKeyArn: is a key in eu-central-1, but the replica bucket is in eu-west-1']],
    ['replication onto the dump bucket', (c) => (c.replication.bucketName = 'acme-dr-db-backups'), ['replication.bucketName: must differ from bucket.name']],
    ['a replica bucket name in capitals', (c) => (c.replication.bucketName = 'Replica'), ['replication.bucketName: must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)']],
    ['replication without a bucket name', (c) => delete c.replication.bucketName, ['replication.bucketName: Invalid input: expected string, received undefined']],
    ['an Object Lock of 0 days', (c) => (c.objectLock.days = 0), ['objectLock.days: Too small: expected number to be >=1']],
    ['an Object Lock mode in capitals', (c) => (c.objectLock.mode = 'GOVERNANCE'), ['objectLock.mode: Invalid option: expected one of "governance"|"compliance"']],
    [
      'Object Lock on an existing bucket',
      (c) => (c.bucket.existing = true),
      ['objectLock: needs a bucket this stack creates (bucket.existing is true): Object Lock is set when a bucket is created; turn it on for an existing bucket in S3 itself'],
    ],
  ];

  it.each(MALFORMED)('rejects %s', (_, breakIt, expected) => {
    const draft = structuredClone(DR);
    breakIt(draft);
    expect(problemsOf(draft)).toEqual(expected);
  });
});
