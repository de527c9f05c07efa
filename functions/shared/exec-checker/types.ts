import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Cluster, ContainerInstance, ECSClient, Task, TaskDefinition } from '@aws-sdk/client-ecs';
import type { EFSClient } from '@aws-sdk/client-efs';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { FunctionConfiguration, LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import type { BackupConfig, Target } from '../config/schema.js';

/** How bad a finding is: green = OK, yellow = advisory, red = must fix. */
export type Verdict = 'green' | 'yellow' | 'red';

/** One line of the report. */
export interface CheckResult {
  /** Id of the check that produced the line (its file name), stable for machines. */
  readonly check: string;
  /** What was checked, e.g. `Task status` or `Managed agent (postgres)`. */
  readonly title: string;
  readonly verdict: Verdict;
  /** What was found. */
  readonly message: string;
  /** What to change; set on every red line and on yellow lines that have a remedy. */
  readonly fix?: string;
}

/** The AWS SDK clients the checks use. */
export interface Clients {
  readonly ecs: ECSClient;
  readonly iam: IAMClient;
  readonly sts: STSClient;
  readonly ec2: EC2Client;
  readonly kms: KMSClient;
  readonly logs: CloudWatchLogsClient;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  readonly efs: EFSClient;
}

/** The caller as IAM can simulate it. */
export interface Caller {
  /** ARN returned by sts:GetCallerIdentity. */
  readonly arn: string;
  readonly account: string;
  /** User, role or group ARN usable as PolicySourceArn. */
  readonly principalArn: string;
}

/** The backup target and the orchestrator the backup-path checks look at. */
export interface BackupContext {
  readonly config: BackupConfig;
  readonly target: Target;
  readonly functionName: string;
  /** lambda:GetFunctionConfiguration's answer, or why it failed. */
  readonly orchestrator: { readonly configuration: FunctionConfiguration } | { readonly error: string };
}

/** Everything the checks read, gathered once by `loadContext`. */
export interface CheckContext {
  readonly region: string;
  readonly clients: Clients;
  /** Undefined when the pre-flight caller check failed. */
  readonly caller?: Caller;
  readonly cluster: Cluster;
  /** ARN of the cluster's ECS Exec KMS key (resolved with kms:DescribeKey), when one is set. */
  readonly execKmsKeyArn?: string;
  readonly task: Task;
  readonly taskDefinition: TaskDefinition;
  /** The container instance of an EC2 task. */
  readonly containerInstance?: ContainerInstance;
  /** Container names the per-container checks look at (the `--container` one, or all of the task). */
  readonly containers: readonly string[];
  readonly backup?: BackupContext;
}

/** One check: reads the context (and may call AWS), returns one or more report lines. */
export type Check = (ctx: CheckContext) => Promise<CheckResult[]>;
