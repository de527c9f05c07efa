/**
 * Which resources the snapshot plan selects: the infrastructure writes these ARN patterns into the
 * AWS Backup selection, and the snapshot check and restore CLI judge real ARNs against the same list.
 */

/** The resource types the snapshot plan covers, with the ARN resource part AWS Backup matches. */
export const SNAPSHOT_RESOURCE_TYPES = [
  { type: 'EBS', service: 'ec2', resource: 'volume/*' },
  { type: 'EFS', service: 'elasticfilesystem', resource: 'file-system/*' },
  { type: 'DynamoDB', service: 'dynamodb', resource: 'table/*' },
  { type: 'RDS', service: 'rds', resource: 'db:*' },
] as const;

/** An AWS Backup resource type the plan covers. */
export type SnapshotResourceType = (typeof SNAPSHOT_RESOURCE_TYPES)[number]['type'];

/** The selection's ARN patterns, any region and account, in the given partition. */
export function selectionArnPatterns(partition: string): string[] {
  return SNAPSHOT_RESOURCE_TYPES.map((t) => `arn:${partition}:${t.service}:*:*:${t.resource}`);
}

/** The covered type of a resource ARN, or null when the selection's patterns do not match it. */
export function snapshotTypeOf(arn: string): SnapshotResourceType | null {
  const m = /^arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:\d*:(.+)$/.exec(arn);
  if (m === null) return null;
  const [, service, resource] = m;
  for (const t of SNAPSHOT_RESOURCE_TYPES) {
    const prefix = t.resource.slice(0, -1);
    if (service === t.service && resource!.startsWith(prefix) && resource!.length > prefix.length) return t.type;
  }
  return null;
}

/** Name of the snapshot vault of a deployment (`copy`: of its copy vault in the second region). */
export function snapshotVaultName(namePrefix: string, copy = false): string {
  return `${namePrefix}-snapshots${copy ? '-copy' : ''}`;
}

/** Name of the IAM role AWS Backup takes to back up and restore a deployment's snapshots. */
export function snapshotRoleName(namePrefix: string): string {
  return `${namePrefix}-snapshots`;
}
