import { DescribeRouteTablesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcEndpointsCommand, type IpPermission, type RouteTable, type VpcEndpoint } from '@aws-sdk/client-ec2';
import { DescribeMountTargetSecurityGroupsCommand, DescribeMountTargetsCommand, type MountTargetDescription } from '@aws-sdk/client-efs';
import { describe, expect, it } from 'vitest';
import { cidrContains } from '../../../functions/shared/exec-checker/cidr.js';
import { efsMountTargets } from '../../../functions/shared/exec-checker/efs-mount-targets.js';
import { orchestratorNetwork } from '../../../functions/shared/exec-checker/orchestrator-network.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';
import { vpcEndpoints } from '../../../functions/shared/exec-checker/vpc-endpoints.js';
import { goodBackup, goodFunction, goodTask, IDS, makeContext } from './fixtures.js';

const brief = (results: CheckResult[]) => results.map((r) => [r.verdict, r.title, r.message, r.fix]);
const SSM = 'com.amazonaws.eu-west-1.ssmmessages';
const ECS = 'com.amazonaws.eu-west-1.ecs';

describe('vpc-endpoints', () => {
  it.each([
    ['no endpoints', [], ['green', 'VPC endpoints (task)', `none in ${IDS.vpcId} (no additional VPC endpoints required)`, undefined]],
    ['an ssmmessages endpoint', [{ ServiceName: SSM, VpcEndpointId: 'vpce-1' }], ['green', 'VPC endpoints (task)', `${SSM}: vpce-1`, undefined]],
    [
      'an ssmmessages endpoint without private DNS',
      [{ ServiceName: SSM, VpcEndpointId: 'vpce-1', PrivateDnsEnabled: false }],
      ['yellow', 'VPC endpoints (task)', `${SSM}: vpce-1 has private DNS disabled`, 'enable private DNS on vpce-1: the agent connects to the public ssmmessages name'],
    ],
    [
      'endpoints without ssmmessages',
      [{ ServiceName: 'com.amazonaws.eu-west-1.s3', VpcEndpointId: 'vpce-2' }],
      ['yellow', 'VPC endpoints (task)', `${IDS.vpcId} has VPC endpoints but none for ${SSM}`, `add an interface endpoint for ${SSM}, or make sure the task has outbound internet access`],
    ],
  ] as [string, VpcEndpoint[], unknown][])('reports %s', async (_, endpoints, expected) => {
    const { ctx, mocks } = makeContext();
    mocks.ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: IDS.subnetA, VpcId: IDS.vpcId, OwnerId: IDS.account }] });
    mocks.ec2.on(DescribeVpcEndpointsCommand, { Filters: [{ Name: 'vpc-id', Values: [IDS.vpcId] }] }).resolves({ VpcEndpoints: endpoints });
    expect(brief(await vpcEndpoints(ctx))).toEqual([expected]);
  });

  it('reports a subnet shared from another account', async () => {
    const { ctx, mocks } = makeContext();
    mocks.ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: IDS.subnetA, VpcId: IDS.vpcId, OwnerId: '999999999999' }] });
    expect(brief(await vpcEndpoints(ctx))).toEqual([
      ['red', 'VPC endpoints (task)', `subnet ${IDS.subnetA} is owned by account 999999999999, not ${IDS.account} (shared VPC)`, 'run the checker with credentials of account 999999999999 to check its VPC endpoints'],
    ]);
  });

  it('takes the VPC from the container instance for bridge-mode EC2 tasks', async () => {
    const { ctx, mocks } = makeContext({
      task: { ...goodTask(), launchType: 'EC2', attachments: [] },
      containerInstance: { attributes: [{ name: 'ecs.vpc-id', value: 'vpc-0000000000000bbbb' }] },
    });
    mocks.ec2.on(DescribeVpcEndpointsCommand, { Filters: [{ Name: 'vpc-id', Values: ['vpc-0000000000000bbbb'] }] }).resolves({ VpcEndpoints: [] });
    expect(brief(await vpcEndpoints(ctx))[0]?.[2]).toBe('none in vpc-0000000000000bbbb (no additional VPC endpoints required)');
  });

  it('says UNKNOWN when neither task nor instance names a network', async () => {
    const { ctx } = makeContext({ task: { ...goodTask(), attachments: [] } });
    expect(brief(await vpcEndpoints(ctx))).toEqual([['yellow', 'VPC endpoints (task)', 'UNKNOWN (the task reports no subnet and its container instance no VPC)', undefined]]);
  });
});

describe('orchestrator-network', () => {
  const main: RouteTable = { Associations: [{ Main: true }], Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }] };
  const natTable = (subnet: string): RouteTable => ({ Associations: [{ SubnetId: subnet }], Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1', State: 'active' }] });
  const endpoint = (service: string, patch: Partial<VpcEndpoint> = {}): VpcEndpoint => ({ ServiceName: service, VpcEndpointId: `vpce-${service.split('.').pop()}`, VpcEndpointType: 'Interface', State: 'available' as VpcEndpoint['State'], PrivateDnsEnabled: true, ...patch });
  const redFix = (s: string) => `set endpoints.${s} = true in the backup config and deploy (or enable private DNS on the endpoint), or route 0.0.0.0/0 from those subnets to a NAT gateway`;

  it.each([
    ['interface endpoints with private DNS', [endpoint(ECS), endpoint(SSM)], [main], [
      ['green', 'Orchestrator reaches ecs', 'interface endpoint vpce-ecs (private DNS)', undefined],
      ['green', 'Orchestrator reaches ssmmessages', 'interface endpoint vpce-ssmmessages (private DNS)', undefined],
    ]],
    ['a NAT route in both subnets', [], [main, natTable(IDS.subnetA), natTable(IDS.subnetB)], [
      ['green', 'Orchestrator reaches ecs', 'NAT gateway nat-1', undefined],
      ['green', 'Orchestrator reaches ssmmessages', 'NAT gateway nat-1', undefined],
    ]],
    ['a NAT route in one subnet and an ecs endpoint only', [endpoint(ECS)], [main, natTable(IDS.subnetA)], [
      ['green', 'Orchestrator reaches ecs', 'interface endpoint vpce-ecs (private DNS)', undefined],
      ['red', 'Orchestrator reaches ssmmessages', `no interface endpoint ${SSM} in ${IDS.vpcId}, and subnets ${IDS.subnetB} have no 0.0.0.0/0 route to a NAT gateway`, redFix('ssmmessages')],
    ]],
    ['endpoints without private DNS and no NAT', [endpoint(ECS, { PrivateDnsEnabled: false }), endpoint(SSM, { State: 'pending' as VpcEndpoint['State'] })], [main], [
      ['red', 'Orchestrator reaches ecs', `interface endpoint vpce-ecs is without private DNS, and subnets ${IDS.subnetA}, ${IDS.subnetB} have no 0.0.0.0/0 route to a NAT gateway`, redFix('ecs')],
      ['red', 'Orchestrator reaches ssmmessages', `interface endpoint vpce-ssmmessages is pending, and subnets ${IDS.subnetA}, ${IDS.subnetB} have no 0.0.0.0/0 route to a NAT gateway`, redFix('ssmmessages')],
    ]],
    ['a NAT route on the main table', [], [{ ...natTable('x'), Associations: [{ Main: true }] }], [
      ['green', 'Orchestrator reaches ecs', 'NAT gateway nat-1', undefined],
      ['green', 'Orchestrator reaches ssmmessages', 'NAT gateway nat-1', undefined],
    ]],
    ['an internet gateway route only', [], [{ Associations: [{ Main: true }], Routes: [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1' }] }], [
      ['red', 'Orchestrator reaches ecs', `no interface endpoint ${ECS} in ${IDS.vpcId}, and subnets ${IDS.subnetA}, ${IDS.subnetB} have no 0.0.0.0/0 route to a NAT gateway`, redFix('ecs')],
      ['red', 'Orchestrator reaches ssmmessages', `no interface endpoint ${SSM} in ${IDS.vpcId}, and subnets ${IDS.subnetA}, ${IDS.subnetB} have no 0.0.0.0/0 route to a NAT gateway`, redFix('ssmmessages')],
    ]],
  ] as [string, VpcEndpoint[], RouteTable[], unknown][])('reports %s', async (_, endpoints, tables, expected) => {
    const { ctx, mocks } = makeContext({ backup: goodBackup() });
    mocks.ec2.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: endpoints });
    mocks.ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: tables });
    expect(brief(await orchestratorNetwork(ctx))).toEqual(expected);
  });

  it('reports a function outside any VPC', async () => {
    const { ctx } = makeContext({ backup: goodBackup({ ...goodFunction(), VpcConfig: undefined }) });
    expect(brief(await orchestratorNetwork(ctx))).toEqual([
      ['red', 'Orchestrator network', 'function ecs-db-backup-orchestrator is not attached to a VPC', `attach it to the config's subnetIds (${IDS.subnetA}, ${IDS.subnetB}) by redeploying the stack: it needs the VPC to mount EFS`],
    ]);
  });

  it('is skipped when the function could not be read', async () => {
    const { ctx } = makeContext({ backup: goodBackup({ error: 'gone' }) });
    expect(await orchestratorNetwork(ctx)).toEqual([]);
  });
});

describe('efs-mount-targets', () => {
  const subnets = [
    { SubnetId: IDS.subnetA, AvailabilityZone: 'eu-west-1a', CidrBlock: '10.0.1.0/24' },
    { SubnetId: IDS.subnetB, AvailabilityZone: 'eu-west-1b', CidrBlock: '10.0.2.0/24' },
  ];
  const target = (zone: string, id: string, state = 'available'): MountTargetDescription => ({ MountTargetId: id, FileSystemId: IDS.fileSystemId, SubnetId: 's', AvailabilityZoneName: zone, LifeCycleState: state as never });
  const fromLambdaSg: IpPermission = { IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ GroupId: IDS.lambdaSg }] };
  const noNfs = (zone: string, mt: string) => [
    'red',
    `EFS mount target (${zone})`,
    `security groups ${IDS.mountSg} of ${mt} do not allow TCP 2049 from the orchestrator's security groups ${IDS.lambdaSg}`,
    `add an inbound rule TCP 2049 from ${IDS.lambdaSg} to ${IDS.mountSg} (set efs.mountTargetSecurityGroupId in the config to that group and deploy)`,
  ];

  it.each([
    ['NFS from the Lambda security group', [fromLambdaSg], [
      ['green', 'EFS mount target (eu-west-1a)', 'fsmt-a allows NFS from the orchestrator', undefined],
      ['green', 'EFS mount target (eu-west-1b)', 'fsmt-b allows NFS from the orchestrator', undefined],
    ]],
    ['all traffic from the VPC CIDR', [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/16' }] }], [
      ['green', 'EFS mount target (eu-west-1a)', 'fsmt-a allows NFS from the orchestrator', undefined],
      ['green', 'EFS mount target (eu-west-1b)', 'fsmt-b allows NFS from the orchestrator', undefined],
    ]],
    ['NFS from one subnet only', [{ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, IpRanges: [{ CidrIp: '10.0.1.0/24' }] }], [
      ['green', 'EFS mount target (eu-west-1a)', 'fsmt-a allows NFS from the orchestrator', undefined],
      noNfs('eu-west-1b', 'fsmt-b'),
    ]],
    ['HTTPS from the Lambda security group', [{ ...fromLambdaSg, FromPort: 443, ToPort: 443 }], [noNfs('eu-west-1a', 'fsmt-a'), noNfs('eu-west-1b', 'fsmt-b')]],
    ['no rules', [], [noNfs('eu-west-1a', 'fsmt-a'), noNfs('eu-west-1b', 'fsmt-b')]],
  ] as [string, IpPermission[], unknown][])('reports %s', async (_, rules, expected) => {
    const { ctx, mocks } = makeContext({ backup: goodBackup() });
    mocks.ec2.on(DescribeSubnetsCommand).resolves({ Subnets: subnets });
    mocks.efs.on(DescribeMountTargetsCommand, { FileSystemId: IDS.fileSystemId }).resolves({ MountTargets: [target('eu-west-1a', 'fsmt-a'), target('eu-west-1b', 'fsmt-b')] });
    mocks.efs.on(DescribeMountTargetSecurityGroupsCommand).resolves({ SecurityGroups: [IDS.mountSg] });
    mocks.ec2.on(DescribeSecurityGroupsCommand, { GroupIds: [IDS.mountSg] }).resolves({ SecurityGroups: [{ GroupId: IDS.mountSg, IpPermissions: rules }] });
    expect(brief(await efsMountTargets(ctx))).toEqual(expected);
  });

  it('reports a zone without an available mount target', async () => {
    const { ctx, mocks } = makeContext({ backup: goodBackup() });
    mocks.ec2.on(DescribeSubnetsCommand).resolves({ Subnets: subnets });
    mocks.efs.on(DescribeMountTargetsCommand).resolves({ MountTargets: [target('eu-west-1a', 'fsmt-a'), target('eu-west-1b', 'fsmt-b', 'creating')] });
    mocks.efs.on(DescribeMountTargetSecurityGroupsCommand).resolves({ SecurityGroups: [IDS.mountSg] });
    mocks.ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ IpPermissions: [fromLambdaSg] }] });
    expect(brief(await efsMountTargets(ctx))[1]).toEqual([
      'red',
      'EFS mount target (eu-west-1b)',
      `file system ${IDS.fileSystemId} has no available mount target in eu-west-1b (orchestrator subnet ${IDS.subnetB})`,
      `create a mount target for ${IDS.fileSystemId} in eu-west-1b, or put the orchestrator in subnets of zones that have one`,
    ]);
  });
});

describe('cidrContains', () => {
  it.each([
    ['10.0.0.0/16', '10.0.1.0/24', true],
    ['10.0.1.0/24', '10.0.1.0/24', true],
    ['0.0.0.0/0', '192.168.0.0/24', true],
    ['10.0.1.0/24', '10.0.0.0/16', false],
    ['10.0.2.0/24', '10.0.1.0/24', false],
    ['10.0.0.0/16', 'fd00::/64', false],
    ['300.0.0.0/8', '10.0.0.0/24', false],
  ])('%s contains %s: %s', (outer, inner, expected) => {
    expect(cidrContains(outer, inner)).toBe(expected);
  });
});
