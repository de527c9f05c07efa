import { describe, expect, it } from 'vitest';
import { chooseRecoveryPoint, defaultNewName, newestFirst, planRestore, resourceName, type RecoveryPoint } from '../../scripts/restore/snapshot-plan.js';

const at = (iso: string) => new Date(iso);
const rp = (over: Partial<RecoveryPoint>): RecoveryPoint => ({
  arn: 'arn:aws:backup:eu-west-1:111122223333:recovery-point:a',
  region: 'eu-west-1',
  vaultName: 'v',
  resourceArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
  resourceType: 'DynamoDB',
  status: 'COMPLETED',
  createdAt: at('2026-11-03T03:00:00Z'),
  ...over,
});

describe('snapshot restore plan', () => {
  it.each([
    ['arn:aws:dynamodb:eu-west-1:1:table/orders', 'orders'],
    ['arn:aws:rds:eu-west-1:1:db:shop-db', 'shop-db'],
    ['arn:aws:elasticfilesystem:eu-west-1:1:file-system/fs-0a1b', 'fs-0a1b'],
    ['arn:aws:ec2:eu-west-1:1:volume/vol-0a1b', 'vol-0a1b'],
  ])('names the resource of %s', (arn, name) => {
    expect(resourceName(arn)).toBe(name);
  });

  it('orders newest first, the source region before its copy at the same time', () => {
    const copy = rp({ arn: 'copy', region: 'eu-central-1' });
    const source = rp({ arn: 'source' });
    const old = rp({ arn: 'old', createdAt: at('2026-11-01T03:00:00Z') });
    expect(newestFirst([old, copy, source], 'eu-west-1').map((p) => p.arn)).toEqual(['source', 'copy', 'old']);
  });

  it('chooses the newest completed point of the region asked for', () => {
    const points = [rp({ arn: 'new-partial', status: 'PARTIAL', createdAt: at('2026-11-05T00:00:00Z') }), rp({ arn: 'src' }), rp({ arn: 'copy', region: 'eu-central-1', createdAt: at('2026-11-02T00:00:00Z') })];
    expect(chooseRecoveryPoint(points, {}).arn).toBe('src');
    expect(chooseRecoveryPoint(points, { region: 'eu-central-1' }).arn).toBe('copy');
    expect(() => chooseRecoveryPoint(points, { region: 'us-east-1' })).toThrow('no completed recovery point in us-east-1 to restore from (see --list)');
  });

  it('keeps default names within RDS identifier rules', () => {
    const name = defaultNewName('RDS', 'a'.repeat(63), at('2026-11-03T04:05:06Z'));
    expect(name).toHaveLength(63);
    expect(name.endsWith('-restored-202611030405')).toBe(true);
    expect(defaultNewName('DynamoDB', 'orders', at('2026-11-03T04:05:06Z'))).toBe('orders-restored-202611030405');
  });

  it('restores an EBS volume into a new volume with its own metadata', () => {
    const plan = planRestore(rp({ resourceArn: 'arn:aws:ec2:eu-west-1:1:volume/vol-1', resourceType: 'EBS' }), { availabilityZone: 'eu-west-1a' }, 'ignored', ['vol-1']);
    expect(plan).toEqual({ resourceType: 'EBS', metadata: { availabilityZone: 'eu-west-1a' }, newName: null });
  });

  it.each([
    ['DynamoDB', 'arn:aws:dynamodb:eu-west-1:1:table/orders', 'ab', 'must be 3-255 letters, digits, "_", "-" or "."'],
    ['RDS', 'arn:aws:rds:eu-west-1:1:db:shop', 'shop--2', 'must be 1-63 letters, digits or hyphens, starting with a letter, no "--", not ending in "-"'],
    ['RDS', 'arn:aws:rds:eu-west-1:1:db:shop', '1shop', 'must be 1-63 letters, digits or hyphens, starting with a letter, no "--", not ending in "-"'],
  ])('rejects a bad %s name %s → %s', (type, arn, name, why) => {
    expect(() => planRestore(rp({ resourceArn: arn, resourceType: type }), {}, name, [])).toThrow(`--new-name "${name}" is not a valid ${type} name: ${why}`);
  });

  it('keeps DynamoDB names case-sensitive (a table "Orders" is not "orders")', () => {
    expect(planRestore(rp({}), {}, 'Orders', ['orders']).metadata).toEqual({ targetTableName: 'Orders' });
  });
});
