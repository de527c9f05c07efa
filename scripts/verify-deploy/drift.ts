import { isDeepStrictEqual } from 'node:util';

/**
 * The second plan after a deploy: what Terraform would change. Against real AWS it must be nothing;
 * against the emulator, only the attributes the emulator does not store, each listed here with why.
 * Pure: `terraform show -json <plan>` in, lines out.
 */

/** An attribute the emulator does not keep, so a plan after apply always wants to set it again. */
export interface EmulatorGap {
  readonly resourceType: string;
  readonly attribute: string;
  readonly why: string;
}

/** Every drift moto 5.2 shows right after a clean apply. */
export const EMULATOR_GAPS: readonly EmulatorGap[] = [
  { resourceType: 'aws_lambda_function', attribute: 'file_system_config', why: "moto's Lambda drops FileSystemConfigs on CreateFunction" },
  // AWS keeps every rule's description; moto 5.2.1 sometimes reads a rule that references a security group
  // back without it (seen in some runs, not in others).
  { resourceType: 'aws_vpc_security_group_egress_rule', attribute: 'description', why: 'moto may read a rule that references a security group back without its description' },
  { resourceType: 'aws_vpc_security_group_ingress_rule', attribute: 'description', why: 'moto may read a rule that references a security group back without its description' },
  // moto's PutBucketReplication keeps a rule's id, priority, status, destination and delete-marker setting only.
  { resourceType: 'aws_s3_bucket_replication_configuration', attribute: 'rule', why: "moto drops a replication rule's filter prefix and source_selection_criteria" },
];

/** One planned change: a resource and the attributes that change (or the action, for create/delete). */
export interface Drift {
  readonly address: string;
  readonly resourceType: string;
  readonly actions: readonly string[];
  readonly attributes: readonly string[];
}

interface PlanJson {
  resource_changes?: Array<{ address: string; type: string; mode: string; change: { actions: string[]; before: unknown; after: unknown } }>;
}

/** The changes a plan would make (no-op and data reads left out). */
export function planDrift(plan: unknown): Drift[] {
  const drift: Drift[] = [];
  for (const rc of (plan as PlanJson).resource_changes ?? []) {
    if (rc.mode !== 'managed' || rc.change.actions.every((a) => a === 'no-op' || a === 'read')) continue;
    const before = (rc.change.before ?? {}) as Record<string, unknown>;
    const after = (rc.change.after ?? {}) as Record<string, unknown>;
    const attributes = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => after[k] !== undefined && !isDeepStrictEqual(before[k], after[k])).sort();
    drift.push({ address: rc.address, resourceType: rc.type, actions: rc.change.actions, attributes });
  }
  return drift;
}

/** Splits a plan's drift into the known emulator gaps (printed) and everything else (a failure). */
export function judgeDrift(drift: readonly Drift[], gaps: readonly EmulatorGap[] = EMULATOR_GAPS): { known: string[]; problems: string[] } {
  const known: string[] = [];
  const problems: string[] = [];
  for (const d of drift) {
    const isGap = (attribute: string) => gaps.find((g) => g.resourceType === d.resourceType && g.attribute === attribute);
    const unexplained = d.actions.includes('update') && d.actions.length === 1 ? d.attributes.filter((a) => isGap(a) === undefined) : d.attributes;
    if (d.actions.join() !== 'update' || unexplained.length > 0 || d.attributes.length === 0) {
      problems.push(`${d.address}: ${d.actions.join('+')} ${unexplained.join(', ') || d.attributes.join(', ')}`.trimEnd());
      continue;
    }
    for (const a of d.attributes) known.push(`${d.address}.${a}: ${isGap(a)!.why}`);
  }
  return { known, problems };
}
