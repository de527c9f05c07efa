import { Construct } from 'constructs';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';

/** Props of {@link AccountContext}. */
export interface AccountContextProps {
  /** AWS region every regional ARN is built for (the provider's region). */
  readonly region: string;
}

/**
 * Account id and partition of the deploying credentials, and ARN building on top of them.
 * The account comes from `data.aws_caller_identity` (an STS call at plan time), the partition from
 * `data.aws_partition` (no API call), so the ARNs are right in every partition and account.
 */
export class AccountContext extends Construct {
  /** Account id of the deploying credentials (a token). */
  readonly accountId: string;
  /** `aws`, `aws-cn` or `aws-us-gov` (a token). */
  readonly partition: string;
  /** The region the ARNs are built for. */
  readonly region: string;

  constructor(scope: Construct, id: string, props: AccountContextProps) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, 'caller').accountId;
    this.partition = new DataAwsPartition(this, 'partition').partition;
    this.region = props.region;
  }

  /** `arn:<partition>:<service>:<region>:<account>:<resource>` for a regional resource of this account. */
  arn(service: string, resource: string): string {
    return `arn:${this.partition}:${service}:${this.region}:${this.accountId}:${resource}`;
  }

  /** ARN of an S3 bucket (S3 ARNs carry no region or account). */
  bucketArn(bucketName: string): string {
    return `arn:${this.partition}:s3:::${bucketName}`;
  }
}
