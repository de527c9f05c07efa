import { DescribeSubnetsCommand, DescribeVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import { lines } from './result.js';
import type { Check, CheckContext } from './types.js';

const { green, yellow, red } = lines('vpc-endpoints');
const TITLE = 'VPC endpoints (task)';

/** Check 10: the task's VPC either has no interface endpoints, or has one for ssmmessages. */
export const vpcEndpoints: Check = async (ctx) => {
  const where = taskNetwork(ctx);
  if (where.subnetId === undefined && where.vpcId === undefined) {
    return [yellow(TITLE, 'UNKNOWN (the task reports no subnet and its container instance no VPC)')];
  }
  let vpcId = where.vpcId;
  if (where.subnetId !== undefined) {
    const out = await ctx.clients.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [where.subnetId] }));
    const subnet = out.Subnets?.[0];
    vpcId = subnet?.VpcId ?? vpcId;
    const account = ctx.caller?.account;
    if (subnet?.OwnerId && account && subnet.OwnerId !== account) {
      return [red(TITLE, `subnet ${where.subnetId} is owned by account ${subnet.OwnerId}, not ${account} (shared VPC)`, `run the checker with credentials of account ${subnet.OwnerId} to check its VPC endpoints`)];
    }
  }
  const out = await ctx.clients.ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId ?? ''] }] }));
  const endpoints = out.VpcEndpoints ?? [];
  if (endpoints.length === 0) return [green(TITLE, `none in ${vpcId} (no additional VPC endpoints required)`)];
  const service = `com.amazonaws.${ctx.region}.ssmmessages`;
  const ssm = endpoints.find((e) => e.ServiceName === service);
  if (ssm === undefined) {
    return [yellow(TITLE, `${vpcId} has VPC endpoints but none for ${service}`, `add an interface endpoint for ${service}, or make sure the task has outbound internet access`)];
  }
  if (ssm.PrivateDnsEnabled === false) {
    return [yellow(TITLE, `${service}: ${ssm.VpcEndpointId} has private DNS disabled`, `enable private DNS on ${ssm.VpcEndpointId}: the agent connects to the public ssmmessages name`)];
  }
  return [green(TITLE, `${service}: ${ssm.VpcEndpointId}`)];
};

function taskNetwork(ctx: CheckContext): { subnetId?: string; vpcId?: string } {
  const eni = ctx.task.attachments?.find((a) => a.type === 'ElasticNetworkInterface');
  const subnetId = eni?.details?.find((d) => d.name === 'subnetId')?.value;
  if (subnetId) return { subnetId };
  const attributes = ctx.containerInstance?.attributes ?? [];
  const attr = (name: string) => attributes.find((a) => a.name === name)?.value;
  return { subnetId: attr('ecs.subnet-id'), vpcId: attr('ecs.vpc-id') };
}
