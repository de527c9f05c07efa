import { DescribeRouteTablesCommand, DescribeVpcEndpointsCommand, type RouteTable } from '@aws-sdk/client-ec2';
import { orchestratorOf } from './orchestrator.js';
import { lines } from './result.js';
import type { Check, CheckResult } from './types.js';

const { green, red } = lines('orchestrator-network');

/** The services the orchestrator must reach from its subnets, with the config switch that creates their endpoint. */
export const ORCHESTRATOR_SERVICES = ['ecs', 'ssmmessages'] as const;

/** Backup path: the Lambda's subnets reach ecs and ssmmessages through an interface endpoint with private DNS, or a NAT route. */
export const orchestratorNetwork: Check = async (ctx) => {
  const found = orchestratorOf(ctx);
  if (found === undefined) return [];
  const { backup, fn } = found;
  const subnets = fn.VpcConfig?.SubnetIds ?? [];
  const vpcId = fn.VpcConfig?.VpcId;
  if (subnets.length === 0 || !vpcId) {
    return [
      red(
        'Orchestrator network',
        `function ${backup.functionName} is not attached to a VPC`,
        `attach it to the config's subnetIds (${backup.config.subnetIds.join(', ')}) by redeploying the stack: it needs the VPC to mount EFS`,
      ),
    ];
  }
  const [endpointsOut, tablesOut] = await Promise.all([
    ctx.clients.ec2.send(
      new DescribeVpcEndpointsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'service-name', Values: ORCHESTRATOR_SERVICES.map((s) => `com.amazonaws.${ctx.region}.${s}`) },
        ],
      }),
    ),
    ctx.clients.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })),
  ]);
  const tables = tablesOut.RouteTables ?? [];
  const natBySubnet = new Map(subnets.map((s) => [s, natGateway(tableOf(tables, s))]));
  const withoutNat = subnets.filter((s) => natBySubnet.get(s) === undefined);
  const results: CheckResult[] = [];
  for (const service of ORCHESTRATOR_SERVICES) {
    const name = `com.amazonaws.${ctx.region}.${service}`;
    const title = `Orchestrator reaches ${service}`;
    const endpoint = (endpointsOut.VpcEndpoints ?? []).find((e) => e.ServiceName === name && e.VpcEndpointType !== 'Gateway');
    const usable = endpoint !== undefined && endpoint.PrivateDnsEnabled === true && (endpoint.State ?? '').toLowerCase() === 'available';
    if (usable) {
      results.push(green(title, `interface endpoint ${endpoint.VpcEndpointId} (private DNS)`));
    } else if (withoutNat.length === 0) {
      results.push(green(title, `NAT gateway ${[...new Set(natBySubnet.values())].join(', ')}`));
    } else {
      const why =
        endpoint === undefined
          ? `no interface endpoint ${name} in ${vpcId}`
          : `interface endpoint ${endpoint.VpcEndpointId} is ${endpoint.PrivateDnsEnabled ? endpoint.State : 'without private DNS'}`;
      results.push(
        red(
          title,
          `${why}, and subnets ${withoutNat.join(', ')} have no 0.0.0.0/0 route to a NAT gateway`,
          `set endpoints.${service} = true in the backup config and deploy (or enable private DNS on the endpoint), or route 0.0.0.0/0 from those subnets to a NAT gateway`,
        ),
      );
    }
  }
  return results;
};

function tableOf(tables: readonly RouteTable[], subnetId: string): RouteTable | undefined {
  return (
    tables.find((t) => t.Associations?.some((a) => a.SubnetId === subnetId)) ??
    tables.find((t) => t.Associations?.some((a) => a.Main === true))
  );
}

function natGateway(table: RouteTable | undefined): string | undefined {
  return table?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.NatGatewayId && r.State !== 'blackhole')?.NatGatewayId;
}
