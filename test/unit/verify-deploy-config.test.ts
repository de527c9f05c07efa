import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/shared/config/load.js';
import { configForInfra, existingInfraShape } from '../../scripts/verify-deploy/deploy-config.js';
import { inventoryDiff } from '../../scripts/verify-deploy/inventory.js';
import { DEPLOYED_EXAMPLES } from '../../scripts/verify-deploy.js';

const example = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

const INFRA = {
  vpcId: 'vpc-00000000000000001',
  subnetIds: ['subnet-00000000000000001', 'subnet-00000000000000002', 'subnet-00000000000000003'],
  extraSecurityGroupIds: ['sg-00000000000000009'],
  routeTableIds: ['rtb-00000000000000001', 'rtb-00000000000000002'],
  fileSystemId: 'fs-00000001',
  mountTargetSecurityGroupId: 'sg-00000000000000001',
  kmsKeyArns: {
    backups: 'arn:aws:kms:us-east-2:123456789012:key/00000000-0000-0000-0000-000000000001',
    'exec:prod': 'arn:aws:kms:us-east-2:123456789012:key/00000000-0000-0000-0000-000000000002',
  },
};

describe('an example config for the emulator', () => {
  it('asks for what full.json names: subnets, groups, route tables, keys, task roles, the existing bucket', () => {
    expect(existingInfraShape(example('examples/full.json'))).toEqual({
      region: 'us-east-2', subnets: 3, extraSecurityGroups: 1, routeTables: 2, kmsKeys: ['backups', 'exec:prod'],
      taskRoleNames: ['orders-db-task', 'cache-task', 'shop-db-task'],
      existingBucket: 'acme-shared-backups',
    });
  });

  it('keeps every setting but the ids, and still validates', () => {
    const raw = example('examples/full.json');
    const shape = existingInfraShape(raw);
    const infra = { ...INFRA, subnetIds: INFRA.subnetIds.slice(0, shape.subnets), routeTableIds: INFRA.routeTableIds.slice(0, shape.routeTables) };
    const config = parseConfig(configForInfra(raw, infra));
    expect(config).toMatchObject({
      vpcId: INFRA.vpcId, subnetIds: infra.subnetIds, securityGroupIds: INFRA.extraSecurityGroupIds,
      efs: { fileSystemId: INFRA.fileSystemId, mountTargetSecurityGroupId: INFRA.mountTargetSecurityGroupId, rootPath: '/backups/prod', posixUid: 2000 },
      endpoints: { routeTableIds: infra.routeTableIds, ecs: true }, kmsKeyArn: INFRA.kmsKeyArns.backups, execKmsKeys: { prod: INFRA.kmsKeyArns['exec:prod'] },
      retentionDays: 60, keyPrefix: 'databases/prod/',
    });
    expect(config.targets).toEqual(parseConfig(raw).targets);
  });

  it("makes the replica's key in the replica region and puts it in the config (disaster-recovery.json)", () => {
    const raw = example('examples/disaster-recovery.json');
    const shape = existingInfraShape(raw);
    expect(shape).toMatchObject({ region: 'eu-west-1', kmsKeys: ['backups'], otherRegionKmsKeys: { replica: 'eu-central-1' } });
    const replicaKey = 'arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-0000-0000-000000000003';
    const infra = { ...INFRA, subnetIds: INFRA.subnetIds.slice(0, shape.subnets), kmsKeyArns: { backups: INFRA.kmsKeyArns.backups.replace('us-east-2', 'eu-west-1'), replica: replicaKey } };
    const config = parseConfig(configForInfra(raw, infra));
    expect(config.replication).toMatchObject({ region: 'eu-central-1', kmsKeyArn: replicaKey });
    expect(config.snapshots).toEqual(parseConfig(raw).snapshots);
  });

  it.each(DEPLOYED_EXAMPLES)('%s still validates', (path) => {
    expect(() => parseConfig(example(path), path)).not.toThrow();
  });
});

describe('what a destroy leaves', () => {
  it('lists what is new and what of the user is gone', () => {
    expect(inventoryDiff({ roles: ['task'], buckets: [] }, { roles: ['orchestrator'], buckets: [] })).toEqual([
      'roles: orchestrator is left',
      "roles: task (the user's own) is gone",
    ]);
    expect(inventoryDiff({ roles: ['task'] }, { roles: ['task'] })).toEqual([]);
  });
});
