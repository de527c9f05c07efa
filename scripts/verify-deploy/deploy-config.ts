import type { ExistingInfra, ExistingInfraShape } from './existing-infra.js';

/**
 * An example config turned into one for the emulator: the same settings, with the ids of what
 * {@link createExistingInfra} made in place of the example's made-up VPC, subnet, group, route table,
 * file system and key ids. Pure: the example's JSON in, new JSON out.
 */

/** The parts of a raw example config this file reads and rewrites. */
interface RawConfig {
  region: string;
  bucket: { name: string; existing?: boolean };
  subnetIds: string[];
  securityGroupIds?: string[];
  kmsKeyArn?: string;
  execKmsKeys?: Record<string, string>;
  endpoints?: { routeTableIds?: string[] };
  targets: Array<{ taskRoleName?: string }>;
  replication?: { region: string; kmsKeyArn?: string };
  [key: string]: unknown;
}

/** Name of the backups' key in {@link ExistingInfra.kmsKeyArns}. */
const BACKUP_KEY = 'backups';
const execKeyName = (cluster: string) => `exec:${cluster}`;
/** Name of the replica's key (in the replica region) in {@link ExistingInfra.kmsKeyArns}. */
const REPLICA_KEY = 'replica';

/** What must exist before `config` can be deployed. */
export function existingInfraShape(config: unknown): ExistingInfraShape {
  const c = config as RawConfig;
  return {
    region: c.region,
    subnets: c.subnetIds.length,
    extraSecurityGroups: c.securityGroupIds?.length ?? 0,
    routeTables: c.endpoints?.routeTableIds?.length ?? 0,
    kmsKeys: [...(c.kmsKeyArn === undefined ? [] : [BACKUP_KEY]), ...Object.keys(c.execKmsKeys ?? {}).map(execKeyName)],
    taskRoleNames: [...new Set(c.targets.flatMap((t) => (t.taskRoleName === undefined ? [] : [t.taskRoleName])))],
    ...(c.bucket.existing === true ? { existingBucket: c.bucket.name } : {}),
    ...(c.replication?.kmsKeyArn === undefined ? {} : { otherRegionKmsKeys: { [REPLICA_KEY]: c.replication.region } }),
  };
}

/** `config` with every id of the user's infrastructure replaced by what exists in the emulator. */
export function configForInfra(config: unknown, infra: ExistingInfra): Record<string, unknown> {
  const c = structuredClone(config) as RawConfig;
  delete c.$schema;
  c.vpcId = infra.vpcId;
  c.subnetIds = infra.subnetIds;
  if (c.securityGroupIds !== undefined) c.securityGroupIds = infra.extraSecurityGroupIds;
  c.efs = { ...(c.efs as object), fileSystemId: infra.fileSystemId, mountTargetSecurityGroupId: infra.mountTargetSecurityGroupId };
  if (c.endpoints?.routeTableIds !== undefined) c.endpoints.routeTableIds = infra.routeTableIds;
  if (c.kmsKeyArn !== undefined) c.kmsKeyArn = keyArn(infra, BACKUP_KEY);
  if (c.replication?.kmsKeyArn !== undefined) c.replication.kmsKeyArn = keyArn(infra, REPLICA_KEY);
  if (c.execKmsKeys !== undefined) {
    c.execKmsKeys = Object.fromEntries(Object.keys(c.execKmsKeys).map((cluster) => [cluster, keyArn(infra, execKeyName(cluster))]));
  }
  return c;
}

function keyArn(infra: ExistingInfra, name: string): string {
  const arn = infra.kmsKeyArns[name];
  if (arn === undefined) throw new Error(`no KMS key "${name}" was created for this config`);
  return arn;
}
