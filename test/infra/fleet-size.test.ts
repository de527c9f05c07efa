import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readable, resources, synthStack, type PolicyStatement, type SynthJson } from '../helpers/synth.js';

/** IAM's size limits, in characters of the policy JSON without whitespace (IAM quotas page). */
const IAM_LIMITS = {
  /** All inline policies of one role together. */
  roleInlinePolicies: 10_240,
  /** One managed policy. */
  managedPolicy: 6_144,
} as const;

const FLEET = JSON.parse(readFileSync(new URL('../../examples/fleet-500.json', import.meta.url), 'utf8')) as { targets: { cluster: string }[] };

/** A policy document as IAM stores it, from the synthesized aws_iam_policy_document statements. */
function policyJson(statements: readonly PolicyStatement[]): string {
  const list = (v: string[]) => (v.length === 1 ? v[0] : v);
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      ...(s.sid ? { Sid: s.sid } : {}),
      Effect: s.effect ?? 'Allow',
      Action: list(s.actions),
      ...(s.resources ? { Resource: list(s.resources) } : {}),
      ...(s.condition
        ? { Condition: s.condition.reduce<Record<string, Record<string, unknown>>>((c, k) => ({ ...c, [k.test]: { ...c[k.test], [k.variable]: list(k.values) } }), {}) }
        : {}),
    })),
  });
}

/** The synthesized policy documents a resource type references, by the document each one's `policy` names. */
function documentsOf(synth: SynthJson, type: string): string[] {
  const docs = readable(synth.data?.aws_iam_policy_document ?? {}) as Record<string, { statement: PolicyStatement[] }>;
  return resources(synth, type).map((r) => {
    const id = /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(String(r.policy))?.[1];
    const doc = id === undefined ? undefined : docs[id];
    if (doc === undefined) throw new Error(`${type} has a policy that is not an aws_iam_policy_document: ${String(r.policy)}`);
    return policyJson(doc.statement);
  });
}

describe('a fleet of 500 targets over 20 clusters (examples/fleet-500.json)', () => {
  const synth = synthStack(FLEET);

  it('is the fleet it claims to be', () => {
    expect(FLEET.targets).toHaveLength(500);
    expect(new Set(FLEET.targets.map((t) => t.cluster)).size).toBe(20);
  });

  it("keeps the orchestrator role's inline policies under IAM's limit", () => {
    const inline = documentsOf(synth, 'aws_iam_role_policy');
    expect(inline.length).toBeGreaterThan(0);
    const size = inline.reduce((n, json) => n + json.length, 0);
    expect(size).toBeLessThan(IAM_LIMITS.roleInlinePolicies);
  });

  it("keeps every managed policy under IAM's limit", () => {
    const managed = documentsOf(synth, 'aws_iam_policy');
    expect(managed.length).toBeGreaterThan(0);
    for (const json of managed) expect(json.length).toBeLessThan(IAM_LIMITS.managedPolicy);
  });

  it('grants ECS Exec with one statement per set of containers, not per cluster or target', () => {
    const docs = readable(synth.data?.aws_iam_policy_document ?? {}) as Record<string, { statement: PolicyStatement[] }>;
    const exec = Object.values(docs).flatMap((d) => d.statement).filter((s) => s.actions.includes('ecs:ExecuteCommand'));
    expect(exec).toHaveLength(1);
    expect(exec[0]!.resources).toHaveLength(40);
  });
});
