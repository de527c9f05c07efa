import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { Network } from '../../modules/network.js';
import { BASE_CONFIG, onlyResource, resources, synthStack } from '../helpers/synth.js';

const ROUTES = ['rtb-0a1b2c3d4e5f60766'];

describe('network', () => {
  it('gives the Lambda its own group with egress only for HTTPS and NFS to the mount targets', () => {
    const synth = synthStack();
    expect(onlyResource(synth, 'aws_security_group')).toMatchObject({ vpc_id: BASE_CONFIG.vpcId, name: 'ecs-db-backup-lambda' });
    expect(onlyResource(synth, 'aws_security_group').egress).toBeUndefined();
    const egress = resources(synth, 'aws_vpc_security_group_egress_rule');
    expect(egress).toHaveLength(2);
    expect(egress).toContainEqual(expect.objectContaining({ ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '0.0.0.0/0' }));
    expect(egress).toContainEqual(
      expect.objectContaining({ ip_protocol: 'tcp', from_port: 2049, to_port: 2049, referenced_security_group_id: 'sg-0a1b2c3d4e5f60744' }),
    );
  });

  it('opens NFS on the mount targets group from the Lambda group only', () => {
    const synth = synthStack();
    expect(onlyResource(synth, 'aws_vpc_security_group_ingress_rule')).toMatchObject({
      security_group_id: 'sg-0a1b2c3d4e5f60744',
      ip_protocol: 'tcp',
      from_port: 2049,
      to_port: 2049,
      referenced_security_group_id: expect.stringMatching(/^\$\{aws_security_group\.network_lambda_\w+\.id\}$/),
    });
  });

  it('creates no endpoints by default', () => {
    expect(resources(synthStack(), 'aws_vpc_endpoint')).toEqual([]);
  });

  it('creates an S3 gateway endpoint on the route tables', () => {
    const synth = synthStack({ ...BASE_CONFIG, endpoints: { s3Gateway: true, routeTableIds: ROUTES } });
    expect(onlyResource(synth, 'aws_vpc_endpoint')).toMatchObject({
      service_name: 'com.amazonaws.eu-west-1.s3',
      vpc_endpoint_type: 'Gateway',
      route_table_ids: ROUTES,
    });
  });

  it('creates ecs and ssmmessages interface endpoints in the Lambda subnets, reachable from the Lambda on 443', () => {
    const synth = synthStack({ ...BASE_CONFIG, endpoints: { ecs: true, ssmmessages: true } });
    const endpoints = resources(synth, 'aws_vpc_endpoint');
    expect(endpoints.map((e) => e.service_name)).toEqual(['com.amazonaws.eu-west-1.ecs', 'com.amazonaws.eu-west-1.ssmmessages']);
    for (const endpoint of endpoints) {
      expect(endpoint).toMatchObject({
        vpc_endpoint_type: 'Interface',
        private_dns_enabled: true,
        subnet_ids: BASE_CONFIG.subnetIds,
        security_group_ids: [expect.stringMatching(/^\$\{aws_security_group\.network_endpoints_\w+\.id\}$/)],
      });
    }
    const ingress = resources(synth, 'aws_vpc_security_group_ingress_rule').filter((r) => r.from_port === 443);
    expect(ingress).toHaveLength(4);
    expect(ingress).toEqual(expect.arrayContaining([
      expect.objectContaining({ security_group_id: expect.stringMatching(/network_endpoints_/), referenced_security_group_id: expect.stringMatching(/network_lambda_/), to_port: 443 }),
      ...['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((cidr) =>
        expect.objectContaining({ security_group_id: expect.stringMatching(/network_endpoints_/), cidr_ipv4: cidr, ip_protocol: 'tcp', to_port: 443 }),
      ),
    ]));
  });

  it('lets only the configured client CIDRs reach the interface endpoints besides the Lambda', () => {
    const synth = synthStack({ ...BASE_CONFIG, endpoints: { ssmmessages: true, clientCidrs: ['10.20.0.0/16'] } });
    const cidrs = resources(synth, 'aws_vpc_security_group_ingress_rule').flatMap((r) => (r.cidr_ipv4 === undefined ? [] : [r.cidr_ipv4]));
    expect(cidrs).toEqual(['10.20.0.0/16']);
  });

  it('rejects an S3 gateway without route tables', () => {
    expect(() =>
      Testing.synthScope((scope) => {
        new Network(scope, 'n', {
          namePrefix: 'x',
          region: 'eu-west-1',
          vpcId: 'vpc-1',
          subnetIds: ['subnet-1'],
          efsMountTargetSecurityGroupId: 'sg-1',
          s3Gateway: true,
        });
      }),
    ).toThrow('Network: s3Gateway needs at least one entry in routeTableIds');
  });
});
