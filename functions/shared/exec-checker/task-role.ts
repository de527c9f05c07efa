import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand } from '@aws-sdk/client-iam';
import { lastSegment, parseArn } from './arn.js';
import { lines } from './result.js';
import { denied, simulate, type Decision } from './simulate.js';
import type { Check, CheckContext, CheckResult } from './types.js';

const { green, red } = lines('task-role');

/** The actions the exec agent needs from the task role to open its channels. */
export const SSM_MESSAGES_ACTIONS = [
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
] as const;

interface Role {
  readonly arn: string;
  readonly title: string;
  readonly note: string;
}

/** Check 9: the task role (or the EC2 instance role) lets the exec agent open channels, decrypt, and write session logs. */
export const taskRole: Check = async (ctx) => {
  const role = await findRole(ctx);
  if (typeof role === 'string') {
    return [red('Task role', role, 'set taskRoleArn in the task definition to a role that allows ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel and OpenDataChannel')];
  }
  const iam = ctx.clients.iam;
  const results: CheckResult[] = [green(role.title, `${role.arn}${role.note}`)];
  const verdict = (title: string, decisions: Decision[], what: string, hint = ''): CheckResult => {
    const refused = denied(decisions);
    return refused.length === 0
      ? green(title, `allowed: ${unique(decisions.map((d) => d.action)).join(', ')}`)
      : red(title, `denied: ${refused.map((d) => `${d.action} on ${d.resource} (${d.decision})`).join(', ')}`, `allow ${unique(refused.map((d) => d.action)).join(', ')} on ${what} for ${role.arn}${hint}`);
  };
  results.push(verdict(`${role.title}: ssmmessages`, await simulate(iam, role.arn, SSM_MESSAGES_ACTIONS, ['*']), '*'));
  if (ctx.execKmsKeyArn !== undefined) {
    // Without it the agent cannot decrypt the session's data key: the handshake fails and nothing runs.
    const hint = ' (the agent decrypts each session\'s data key with it; with taskRoleName and execKmsKeys.<cluster> in the config the stack grants it)';
    results.push(verdict(`${role.title}: exec KMS key`, await simulate(iam, role.arn, ['kms:Decrypt'], [ctx.execKmsKeyArn]), ctx.execKmsKeyArn, hint));
  }
  const log = ctx.cluster.configuration?.executeCommandConfiguration?.logConfiguration;
  const arn = parseArn(ctx.task.taskArn ?? '');
  const partition = arn?.partition ?? 'aws';
  if (log?.s3BucketName) {
    const objects = `arn:${partition}:s3:::${log.s3BucketName}/${log.s3KeyPrefix ?? ''}*`;
    const decisions = await simulate(iam, role.arn, ['s3:PutObject'], [objects]);
    if (log.s3EncryptionEnabled) {
      decisions.push(...(await simulate(iam, role.arn, ['s3:GetEncryptionConfiguration'], [`arn:${partition}:s3:::${log.s3BucketName}`])));
    }
    results.push(verdict(`${role.title}: exec log bucket`, decisions, `bucket ${log.s3BucketName}`));
  }
  if (log?.cloudWatchLogGroupName) {
    const group = `arn:${partition}:logs:${ctx.region}:${arn?.account ?? ''}:log-group:${log.cloudWatchLogGroupName}:*`;
    const decisions = [
      ...(await simulate(iam, role.arn, ['logs:DescribeLogGroups'], ['*'])),
      ...(await simulate(iam, role.arn, ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'], [group])),
    ];
    results.push(verdict(`${role.title}: exec log group`, decisions, `log group ${log.cloudWatchLogGroupName}`));
  }
  return results;
};

async function findRole(ctx: CheckContext): Promise<Role | string> {
  const overridden = ctx.task.overrides?.taskRoleArn;
  if (overridden) return { arn: overridden, title: 'Task role', note: ' (overridden)' };
  if (ctx.taskDefinition.taskRoleArn) return { arn: ctx.taskDefinition.taskRoleArn, title: 'Task role', note: '' };
  const instanceId = ctx.containerInstance?.ec2InstanceId;
  if (ctx.task.launchType !== 'EC2' || !instanceId) return 'not configured';
  const out = await ctx.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const profileArn = out.Reservations?.[0]?.Instances?.[0]?.IamInstanceProfile?.Arn;
  if (!profileArn) return `not configured (no task role, and instance ${instanceId} has no instance profile)`;
  const profile = await ctx.clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: lastSegment(profileArn) }));
  const roleArn = profile.InstanceProfile?.Roles?.[0]?.Arn;
  if (!roleArn) return `not configured (no task role, and instance profile ${profileArn} has no role)`;
  return { arn: roleArn, title: 'EC2 instance role', note: ` (from ${profileArn})` };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
