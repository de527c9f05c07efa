import { DescribeAlarmsCommand, ListDashboardsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, DescribeVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import { DescribeAccessPointsCommand } from '@aws-sdk/client-efs';
import { ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { ListAttachedRolePoliciesCommand, ListPoliciesCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import type { Clients } from './read-back.js';

/**
 * Everything of the kinds the stack creates that exists in the region: taken before the deploy and
 * after the destroy, the two must be the same ("destroy leaves nothing", including rules the stack
 * added to the user's own security group and policies it attached to the user's task roles).
 */

/** Kind → sorted names/ids. */
export type Inventory = Record<string, string[]>;

const LISTERS: Record<string, (c: Clients) => Promise<Array<string | undefined>>> = {
  buckets: async (c) => ((await c.s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name),
  functions: async (c) => ((await c.lambda.send(new ListFunctionsCommand({}))).Functions ?? []).map((f) => f.FunctionName),
  roles: async (c) => ((await c.iam.send(new ListRolesCommand({}))).Roles ?? []).map((r) => r.RoleName),
  'role policy attachments': async (c) => {
    const roles = (await c.iam.send(new ListRolesCommand({}))).Roles ?? [];
    const out: string[] = [];
    for (const r of roles) {
      for (const p of (await c.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: r.RoleName }))).AttachedPolicies ?? []) out.push(`${r.RoleName}:${p.PolicyName}`);
    }
    return out;
  },
  'managed policies': async (c) => ((await c.iam.send(new ListPoliciesCommand({ Scope: 'Local' }))).Policies ?? []).map((p) => p.PolicyName),
  'security groups': async (c) => ((await c.ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []).map((g) => g.GroupId),
  'security group rules': async (c) => ((await c.ec2.send(new DescribeSecurityGroupRulesCommand({}))).SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId),
  // A deleted endpoint is still listed for a while (AWS and moto), in state "deleted".
  'VPC endpoints': async (c) => ((await c.ec2.send(new DescribeVpcEndpointsCommand({}))).VpcEndpoints ?? []).filter((e) => e.State?.toLowerCase() !== 'deleted').map((e) => e.VpcEndpointId),
  'EFS access points': async (c) => ((await c.efs.send(new DescribeAccessPointsCommand({}))).AccessPoints ?? []).map((a) => a.AccessPointId),
  'log groups': async (c) => ((await c.logs.send(new DescribeLogGroupsCommand({}))).logGroups ?? []).map((g) => g.logGroupName),
  alarms: async (c) => ((await c.cloudwatch.send(new DescribeAlarmsCommand({}))).MetricAlarms ?? []).map((a) => a.AlarmName),
  dashboards: async (c) => ((await c.cloudwatch.send(new ListDashboardsCommand({}))).DashboardEntries ?? []).map((d) => d.DashboardName),
  'SNS topics': async (c) => ((await c.sns.send(new ListTopicsCommand({}))).Topics ?? []).map((t) => t.TopicArn),
  'EventBridge rules': async (c) => ((await c.events.send(new ListRulesCommand({}))).Rules ?? []).map((r) => r.Name),
};

/** Lists every kind. */
export async function takeInventory(clients: Clients): Promise<Inventory> {
  const inventory: Inventory = {};
  for (const [kind, list] of Object.entries(LISTERS)) inventory[kind] = (await list(clients)).filter((x): x is string => x !== undefined).sort();
  return inventory;
}

/** One line per thing in `after` that was not in `before` (what a destroy left behind), or missing from it. */
export function inventoryDiff(before: Inventory, after: Inventory): string[] {
  const lines: string[] = [];
  for (const kind of Object.keys(before)) {
    const was = new Set(before[kind]);
    const now = new Set(after[kind] ?? []);
    for (const x of now) if (!was.has(x)) lines.push(`${kind}: ${x} is left`);
    for (const x of was) if (!now.has(x)) lines.push(`${kind}: ${x} (the user's own) is gone`);
  }
  return lines;
}
