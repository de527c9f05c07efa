import { Construct } from 'constructs';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import { ConfigError } from '../functions/shared/errors.js';

/** NFS, the protocol of EFS mount targets. */
const NFS_PORT = 2049;
/** HTTPS, the only protocol of AWS APIs and interface endpoints. */
const HTTPS_PORT = 443;

/** Props of {@link Network}. */
export interface NetworkProps {
  /** Name prefix of the security groups. */
  readonly namePrefix: string;
  /** Region, for the endpoint service names. */
  readonly region: string;
  /** VPC of the Lambda, the EFS mount targets and the endpoints. */
  readonly vpcId: string;
  /** Subnets of the Lambda; interface endpoints are placed in them too. */
  readonly subnetIds: readonly string[];
  /** Security group of the EFS mount targets; it gets an NFS ingress rule from the Lambda. */
  readonly efsMountTargetSecurityGroupId: string;
  /** Create an S3 gateway endpoint on `routeTableIds`. Default: false. */
  readonly s3Gateway?: boolean;
  /** Route tables of the S3 gateway endpoint. Default: none. */
  readonly routeTableIds?: readonly string[];
  /** Create an `ecs` interface endpoint (billed per hour and AZ). Default: false. */
  readonly ecsEndpoint?: boolean;
  /** Create an `ssmmessages` interface endpoint (billed per hour and AZ). Default: false. */
  readonly ssmmessagesEndpoint?: boolean;
  /**
   * CIDR blocks besides the Lambda that may reach the interface endpoints on 443. Their private DNS
   * answers for the whole VPC, so the database tasks' SSM agents use them too. Default: none.
   */
  readonly endpointClientCidrs?: readonly string[];
}

/**
 * The Lambda's network: its own security group (egress only HTTPS anywhere and NFS to the mount
 * targets), NFS ingress on the mount targets' group from it, and the optional VPC endpoints.
 */
export class Network extends Construct {
  /** Security group of the orchestrator Lambda. */
  readonly lambdaSecurityGroupId: string;
  /** Ids of the VPC endpoints created, by name (`s3`, `ecs`, `ssmmessages`). */
  readonly endpointIds: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const routeTableIds = props.routeTableIds ?? [];
    if (props.s3Gateway === true && routeTableIds.length === 0) {
      throw new ConfigError('Network: s3Gateway needs at least one entry in routeTableIds');
    }
    if (props.subnetIds.length === 0) throw new ConfigError('Network: subnetIds must not be empty');

    const lambdaSg = new SecurityGroup(this, 'lambda', {
      name: `${props.namePrefix}-lambda`,
      description: 'ecs-db-backup orchestrator Lambda',
      vpcId: props.vpcId,
      tags: { Name: `${props.namePrefix}-lambda` },
    });
    this.lambdaSecurityGroupId = lambdaSg.id;

    new VpcSecurityGroupEgressRule(this, 'lambda-https-out', {
      securityGroupId: lambdaSg.id,
      description: 'AWS APIs (ECS, SSM data channel, S3), directly or through endpoints',
      ipProtocol: 'tcp',
      fromPort: HTTPS_PORT,
      toPort: HTTPS_PORT,
      cidrIpv4: '0.0.0.0/0',
    });
    new VpcSecurityGroupEgressRule(this, 'lambda-nfs-out', {
      securityGroupId: lambdaSg.id,
      description: 'NFS to the EFS mount targets',
      ipProtocol: 'tcp',
      fromPort: NFS_PORT,
      toPort: NFS_PORT,
      referencedSecurityGroupId: props.efsMountTargetSecurityGroupId,
    });
    new VpcSecurityGroupIngressRule(this, 'efs-nfs-in', {
      securityGroupId: props.efsMountTargetSecurityGroupId,
      description: 'NFS from the ecs-db-backup orchestrator Lambda',
      ipProtocol: 'tcp',
      fromPort: NFS_PORT,
      toPort: NFS_PORT,
      referencedSecurityGroupId: lambdaSg.id,
    });

    const endpointIds: Record<string, string> = {};
    if (props.s3Gateway === true) {
      endpointIds.s3 = new VpcEndpoint(this, 's3-gateway', {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [...routeTableIds],
        tags: { Name: `${props.namePrefix}-s3` },
      }).id;
    }
    const interfaces = [
      ...(props.ecsEndpoint === true ? ['ecs'] : []),
      ...(props.ssmmessagesEndpoint === true ? ['ssmmessages'] : []),
    ];
    if (interfaces.length > 0) {
      const endpointSg = new SecurityGroup(this, 'endpoints', {
        name: `${props.namePrefix}-endpoints`,
        description: 'ecs-db-backup interface endpoints',
        vpcId: props.vpcId,
        tags: { Name: `${props.namePrefix}-endpoints` },
      });
      new VpcSecurityGroupIngressRule(this, 'endpoints-https-in', {
        securityGroupId: endpointSg.id,
        description: 'HTTPS from the ecs-db-backup orchestrator Lambda',
        ipProtocol: 'tcp',
        fromPort: HTTPS_PORT,
        toPort: HTTPS_PORT,
        referencedSecurityGroupId: lambdaSg.id,
      });
      [...new Set(props.endpointClientCidrs ?? [])].forEach((cidr, i) => {
        new VpcSecurityGroupIngressRule(this, `endpoints-https-in-cidr-${i}`, {
          securityGroupId: endpointSg.id,
          description: 'HTTPS from VPC clients (private DNS sends them here)',
          ipProtocol: 'tcp',
          fromPort: HTTPS_PORT,
          toPort: HTTPS_PORT,
          cidrIpv4: cidr,
        });
      });
      for (const service of interfaces) {
        endpointIds[service] = new VpcEndpoint(this, `${service}-interface`, {
          vpcId: props.vpcId,
          serviceName: `com.amazonaws.${props.region}.${service}`,
          vpcEndpointType: 'Interface',
          subnetIds: [...props.subnetIds],
          securityGroupIds: [endpointSg.id],
          privateDnsEnabled: true,
          tags: { Name: `${props.namePrefix}-${service}` },
        }).id;
      }
    }
    this.endpointIds = endpointIds;
  }
}
