import type { PolicyStatement, SynthJson } from './synth.js';

/** Account id the test ARNs use for `data.aws_caller_identity` (the same as `readable()`). */
export const TEST_ACCOUNT = '123456789012';

/** An IAM policy document in AWS's JSON form, as IAM evaluates it. */
export interface IamPolicyJson {
  readonly Version: '2012-10-17';
  readonly Statement: ReadonlyArray<{
    Sid?: string;
    Effect: 'Allow' | 'Deny';
    Action: string[];
    Resource: string[];
    Condition?: Record<string, Record<string, string[]>>;
  }>;
}

/** One inline policy of a role, named as in the stack. */
export interface NamedPolicy {
  readonly name: string;
  readonly policy: IamPolicyJson;
}

type Resources = Record<string, Record<string, Record<string, unknown>>>;

/**
 * Every policy the synthesized stack gives the IAM role named `roleName`, in IAM's JSON form with the
 * stack's references replaced by concrete ARNs (see {@link resolveTokens}). Inline policies must be
 * built with aws_iam_policy_document (the house rule); a managed-policy attachment fails loudly, as
 * its content is not in the stack and so cannot be simulated.
 */
export function rolePolicies(synth: SynthJson, roleName: string, region: string): NamedPolicy[] {
  const resources = (synth.resource ?? {}) as Resources;
  const roleIds = Object.entries(resources.aws_iam_role ?? {}).filter(([, r]) => r.name === roleName).map(([id]) => id);
  if (roleIds.length !== 1) throw new Error(`expected one aws_iam_role named ${roleName}, found ${roleIds.length}`);
  const refersToRole = (value: unknown) => typeof value === 'string' && new RegExp(`^\\$\\{aws_iam_role\\.${roleIds[0]}\\.(id|name)\\}$`).test(value);
  const attached = Object.keys(resources.aws_iam_role_policy_attachment ?? {}).filter((id) => refersToRole(resources.aws_iam_role_policy_attachment?.[id]?.role));
  if (attached.length > 0) throw new Error(`managed policies attached to ${roleName} cannot be simulated: ${attached.join(', ')}`);
  return Object.entries(resources.aws_iam_role_policy ?? {})
    .filter(([, p]) => refersToRole(p.role))
    .map(([id, p]) => ({ name: String(p.name ?? id), policy: toIamJson(documentStatements(synth, String(p.policy), id), resources, region) }));
}

function documentStatements(synth: SynthJson, reference: string, policyId: string): PolicyStatement[] {
  const match = /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(reference);
  const doc = match === null ? undefined : synth.data?.aws_iam_policy_document?.[match[1] ?? ''];
  if (doc === undefined) throw new Error(`aws_iam_role_policy ${policyId}: policy ${reference} is not an aws_iam_policy_document of the stack`);
  return (doc as { statement: PolicyStatement[] }).statement;
}

function toIamJson(statements: readonly PolicyStatement[], resources: Resources, region: string): IamPolicyJson {
  const json: IamPolicyJson = {
    Version: '2012-10-17',
    Statement: statements.map((s) => {
      const condition: Record<string, Record<string, string[]>> = {};
      for (const c of s.condition ?? []) (condition[c.test] ??= {})[c.variable] = c.values;
      return {
        ...(s.sid === undefined ? {} : { Sid: s.sid }),
        Effect: s.effect === 'Deny' ? 'Deny' : 'Allow',
        Action: s.actions,
        Resource: s.resources ?? ['*'],
        ...(s.condition === undefined ? {} : { Condition: condition }),
      };
    }),
  };
  return JSON.parse(resolveTokens(JSON.stringify(json), resources, region)) as IamPolicyJson;
}

/** Access point ARN the tests stand in for the one AWS assigns at apply time. */
export const TEST_ACCESS_POINT_ID = 'fsap-0a1b2c3d4e5f60799';

/**
 * Replaces the stack's references with what they are after apply: partition `aws`, account
 * {@link TEST_ACCOUNT}, a created bucket's (and queue's) ARN from its name, the access point's ARN from
 * {@link TEST_ACCESS_POINT_ID}. A reference left over fails, so a policy never passes a simulation
 * because an unresolved `${…}` happened to match nothing.
 */
export function resolveTokens(text: string, resources: Resources, region: string): string {
  const resolved = text
    .replace(/\$\{data\.aws_partition\.[\w-]+\.partition\}/g, 'aws')
    .replace(/\$\{data\.aws_caller_identity\.[\w-]+\.account_id\}/g, TEST_ACCOUNT)
    .replace(/\$\{aws_s3_bucket\.([\w-]+)\.arn\}/g, (ref, id: string) => `arn:aws:s3:::${String(resources.aws_s3_bucket?.[id]?.bucket ?? ref)}`)
    .replace(/\$\{aws_sqs_queue\.([\w-]+)\.arn\}/g, (ref, id: string) =>
      resources.aws_sqs_queue?.[id] === undefined ? ref : `arn:aws:sqs:${region}:${TEST_ACCOUNT}:${String(resources.aws_sqs_queue[id]?.name)}`,
    )
    .replace(/\$\{aws_iam_role\.([\w-]+)\.arn\}/g, (ref, id: string) =>
      resources.aws_iam_role?.[id]?.name === undefined ? ref : `arn:aws:iam::${TEST_ACCOUNT}:role/${String(resources.aws_iam_role[id].name)}`,
    )
    .replace(/\$\{aws_efs_access_point\.([\w-]+)\.arn\}/g, (ref, id: string) =>
      resources.aws_efs_access_point?.[id] === undefined ? ref : `arn:aws:elasticfilesystem:${region}:${TEST_ACCOUNT}:access-point/${TEST_ACCESS_POINT_ID}`,
    );
  const left = resolved.match(/\$\{[^}]*\}/g);
  if (left !== null) throw new Error(`unresolved references in a role policy: ${[...new Set(left)].join(', ')}`);
  return resolved;
}
