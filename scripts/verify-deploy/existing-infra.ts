import { CreateBucketCommand, PutBucketEncryptionCommand, PutBucketVersioningCommand, PutPublicAccessBlockCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { CreateRouteTableCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateFileSystemCommand, CreateMountTargetCommand, EFSClient } from '@aws-sdk/client-efs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { AwsEndpoint } from './aws-endpoint.js';

/**
 * What a user has before the first `cdktf deploy`, created in the emulator the way they made it in AWS:
 * a VPC with subnets and route tables, the EFS file system of the databases with a mount target per
 * subnet and their security group, extra Lambda security groups, KMS keys (backups, ECS Exec sessions),
 * the database task roles and, for a config that names one, an existing bucket set up as the README asks.
 */

/** How many of each thing a config needs (counted from the example config). */
export interface ExistingInfraShape {
  readonly region: string;
  readonly subnets: number;
  readonly extraSecurityGroups: number;
  readonly routeTables: number;
  /** One key per name (e.g. "backups", or a cluster's exec key). */
  readonly kmsKeys: readonly string[];
  /** Keys in other regions, by name: their region (the replica's key). Default: none. */
  readonly otherRegionKmsKeys?: Readonly<Record<string, string>>;
  readonly taskRoleNames: readonly string[];
  /** An existing bucket to create, versioned and encrypted. */
  readonly existingBucket?: string;
}

/** The ids of what was created. */
export interface ExistingInfra {
  readonly vpcId: string;
  readonly subnetIds: string[];
  readonly extraSecurityGroupIds: string[];
  readonly routeTableIds: string[];
  readonly fileSystemId: string;
  readonly mountTargetSecurityGroupId: string;
  /** Key ARNs by the names asked for. */
  readonly kmsKeyArns: Record<string, string>;
}

const AZ_SUFFIXES = ['a', 'b', 'c', 'd'] as const;

/** Creates everything in `shape` in the emulator behind `aws`; returns the ids. */
export async function createExistingInfra(aws: AwsEndpoint, shape: ExistingInfraShape): Promise<ExistingInfra> {
  const { region } = shape;
  const ec2 = new EC2Client(aws.clientConfig(region));
  const efs = new EFSClient(aws.clientConfig(region));
  const kms = new KMSClient(aws.clientConfig(region));
  const iam = new IAMClient(aws.clientConfig(region));
  const s3 = new S3Client({ ...aws.clientConfig(region), forcePathStyle: true });
  try {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
    const subnetIds: string[] = [];
    for (let i = 0; i < shape.subnets; i++) {
      const az = `${region}${AZ_SUFFIXES[i % AZ_SUFFIXES.length]}`;
      subnetIds.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.20.${i}.0/24`, AvailabilityZone: az }))).Subnet!.SubnetId!);
    }
    const group = async (name: string) =>
      (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: `${name} (the user's own)` }))).GroupId!;
    const mountTargetSecurityGroupId = await group('db-efs-mount-targets');
    const extraSecurityGroupIds: string[] = [];
    for (let i = 0; i < shape.extraSecurityGroups; i++) extraSecurityGroupIds.push(await group(`lambda-extra-${i}`));
    const routeTableIds: string[] = [];
    for (let i = 0; i < shape.routeTables; i++) routeTableIds.push((await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!);
    const fileSystemId = (await efs.send(new CreateFileSystemCommand({ CreationToken: `db-data-${vpcId}`, Encrypted: true }))).FileSystemId!;
    for (const subnetId of subnetIds) {
      await efs.send(new CreateMountTargetCommand({ FileSystemId: fileSystemId, SubnetId: subnetId, SecurityGroups: [mountTargetSecurityGroupId] }));
    }
    const kmsKeyArns: Record<string, string> = {};
    for (const name of shape.kmsKeys) kmsKeyArns[name] = (await kms.send(new CreateKeyCommand({ Description: `${name} (the user's own)` }))).KeyMetadata!.Arn!;
    for (const [name, keyRegion] of Object.entries(shape.otherRegionKmsKeys ?? {})) {
      const regional = new KMSClient(aws.clientConfig(keyRegion));
      try {
        kmsKeyArns[name] = (await regional.send(new CreateKeyCommand({ Description: `${name} (the user's own, in ${keyRegion})` }))).KeyMetadata!.Arn!;
      } finally {
        regional.destroy();
      }
    }
    for (const roleName of shape.taskRoleNames) {
      const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
      await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    }
    if (shape.existingBucket !== undefined) await createReadyBucket(s3, shape.existingBucket, region, kmsKeyArns.backups);
    return { vpcId, subnetIds, extraSecurityGroupIds, routeTableIds, fileSystemId, mountTargetSecurityGroupId, kmsKeyArns };
  } finally {
    for (const client of [ec2, efs, kms, iam, s3]) client.destroy();
  }
}

/** A bucket as the README asks of an existing one: versioned, encrypted, blocked from public access. */
async function createReadyBucket(s3: S3Client, bucket: string, region: string, kmsKeyArn: string | undefined): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }) }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const rule = kmsKeyArn === undefined ? { SSEAlgorithm: 'AES256' as const } : { SSEAlgorithm: 'aws:kms' as const, KMSMasterKeyID: kmsKeyArn };
  await s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: rule, BucketKeyEnabled: kmsKeyArn !== undefined }] } }));
  await s3.send(new PutPublicAccessBlockCommand({
    Bucket: bucket,
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
  }));
}
