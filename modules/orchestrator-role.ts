import { createHash } from 'node:crypto';
import type { RunnerGrant } from './runner-tasks.js';
import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import type { AccountContext } from './account-context.js';
import { ConfigError } from '../functions/shared/errors.js';

/**
 * The ENI actions a VPC Lambda's role needs (those of AWSLambdaVPCAccessExecutionRole). EC2 does
 * not support resource-level permissions for them, so their resource is "*"; the actions are named.
 */
export const VPC_ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/** One ECS service the orchestrator may exec into. */
export interface ExecTarget {
  /** ECS cluster name. */
  readonly cluster: string;
  /** ECS service name. */
  readonly service: string;
  /** Container name in the service's task definition. */
  readonly container: string;
  /** Whether a Redis restore may force a new deployment of the service. Default: false. */
  readonly allowServiceRestart?: boolean;
  /** Whether the service's tasks carry ECS managed tags (aws:ecs:serviceName). Default: false. */
  readonly ecsManagedTags?: boolean;
}

/** Props of {@link OrchestratorRole}. */
export interface OrchestratorRoleProps {
  /** Name of the role (and its inline policy). */
  readonly roleName: string;
  /** Name of the function, for its log group's ARN. */
  readonly functionName: string;
  /** The services and containers the orchestrator execs into (mode "exec" targets). */
  readonly targets: readonly ExecTarget[];
  /** The runner tasks the orchestrator starts and stops (mode "task" targets). Default: none. */
  readonly runners?: readonly RunnerGrant[];
  /** ARN of the backup bucket. */
  readonly bucketArn: string;
  /** Key prefix the orchestrator may read and write under ("" for the whole bucket). */
  readonly keyPrefix: string;
  /** Allow s3:GetBucketVersioning on the bucket (an existing bucket, whose versioning the Lambda checks). Default: false. */
  readonly readBucketVersioning?: boolean;
  /** KMS key of the bucket. Default: none (SSE-S3), no KMS permissions. */
  readonly kmsKeyArn?: string;
  /** ECS Exec KMS keys of the clusters whose sessions are KMS-encrypted. Default: none. */
  readonly execKmsKeyArns?: readonly string[];
  /** ARN of the backup file system. */
  readonly fileSystemArn: string;
  /** ARN of the access point the function mounts; EFS access is limited to it. */
  readonly accessPointArn: string;
  /** Account, partition and region, for the ARNs. */
  readonly account: AccountContext;
  /**
   * The replica bucket of `replication`, which restores may read from (never write): its ARN, region and SSE-KMS key.
   * Default: none, no permission on any other bucket.
   */
  readonly replica?: { readonly bucketArn: string; readonly region: string; readonly kmsKeyArn?: string };
  /** ARN of the queue the function's failed asynchronous invocations go to (sqs:SendMessage on it). Default: none. */
  readonly deadLetterQueueArn?: string;
}

/**
 * The orchestrator's execution role, least privilege: ECS reads and ExecuteCommand only on the
 * configured clusters (and container names), S3 only under the key prefix, KMS only on the key,
 * EFS only through the access point, logs only to its own group, and an explicit deny of direct
 * `ssm:StartSession`. No statement has a wildcard action.
 */
export class OrchestratorRole extends Construct {
  /** Role ARN. */
  readonly roleArn: string;
  /** Role name. */
  readonly roleName: string;
  /** The inline policy; the function depends on it so its VPC permissions exist before it is created. */
  readonly policy: IamRolePolicy;

  constructor(scope: Construct, id: string, props: OrchestratorRoleProps) {
    super(scope, id);
    const runners = props.runners ?? [];
    if (props.targets.length === 0 && runners.length === 0) throw new ConfigError('OrchestratorRole: targets and runners must not both be empty');
    const { account } = props;
    const execClusters = [...new Set(props.targets.map((t) => t.cluster))].sort();
    const clusters = [...new Set([...execClusters, ...runners.map((r) => r.cluster)])].sort();
    const clusterArn = (c: string) => account.arn('ecs', `cluster/${c}`);
    const tasksArn = (c: string) => account.arn('ecs', `task/${c}/*`);
    const clusterCondition = { test: 'ArnEquals', variable: 'ecs:cluster', values: clusters.map(clusterArn) };
    const objects = `${props.bucketArn}/${props.keyPrefix}*`;
    const execKeys = [...new Set(props.execKmsKeyArns ?? [])].sort();

    const statements: DataAwsIamPolicyDocumentStatement[] = [
      {
        sid: 'EcsListTasksInClusters',
        // ListTasks has no resource-level permissions; the ecs:cluster condition limits it.
        actions: ['ecs:ListTasks'],
        resources: ['*'],
        condition: [clusterCondition],
      },
      {
        sid: 'EcsDescribeTasksInClusters',
        actions: ['ecs:DescribeTasks'],
        resources: clusters.map(tasksArn),
        condition: [clusterCondition],
      },
      {
        sid: 'EcsDescribeClusters',
        // The exec client reads the cluster's exec configuration (a KMS key: it looks up the container's runtimeId first).
        actions: ['ecs:DescribeClusters'],
        resources: clusters.map(clusterArn),
      },
      ...restartable(props.targets).map((services) => ({
        sid: 'EcsRestartForRestore',
        // Only for targets with allowServiceRestart: a Redis restore restarts the service on the restored RDB.
        actions: ['ecs:UpdateService'],
        resources: services.map((r) => account.arn('ecs', r)),
      })),
      ...runnerStatements(runners, clusterArn, tasksArn),
      ...clustersByContainers(props.targets).flatMap((group) => executeCommandStatements(group, clusterArn, tasksArn)),
      {
        sid: 'S3ObjectsUnderPrefix',
        actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [objects],
      },
      {
        sid: 'S3ListUnderPrefix',
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resources: [props.bucketArn],
        // An empty prefix means the whole bucket: a request without a prefix must pass too.
        ...(props.keyPrefix === '' ? {} : { condition: [{ test: 'StringLike', variable: 's3:prefix', values: [`${props.keyPrefix}*`] }] }),
      },
      ...(props.replica === undefined ? [] : replicaReadStatements(props.replica, props.keyPrefix)),
      ...(props.readBucketVersioning === true
        ? [
            {
              sid: 'S3ReadBucketVersioning',
              // The stack does not manage an existing bucket: the Lambda checks that older weeks are kept.
              actions: ['s3:GetBucketVersioning'],
              resources: [props.bucketArn],
            },
          ]
        : []),
      ...(props.kmsKeyArn === undefined
        ? []
        : [
            {
              sid: 'KmsForBucketObjects',
              // S3 asks for a data key to write and for Decrypt to read and to complete a multipart upload; never Encrypt.
              actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
              resources: [props.kmsKeyArn],
              condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${account.region}.amazonaws.com`] }],
            },
          ]),
      ...(execKeys.length === 0
        ? []
        : [
            {
              sid: 'KmsExecSessionDataKeys',
              // A KMS-encrypted ECS Exec session needs a data key of the cluster's exec key; only the agent decrypts it.
              actions: ['kms:GenerateDataKey'],
              resources: execKeys,
            },
          ]),
      {
        sid: 'SsmTerminateExecSessions',
        // Ends an ECS Exec session the client is done with but the service has not closed (deadline, error),
        // so its command stops and the container's session slot frees. ECS Exec session ids: ecs-execute-command-….
        actions: ['ssm:TerminateSession'],
        resources: [account.arn('ssm', 'session/ecs-execute-command-*')],
      },
      {
        sid: 'EfsThroughAccessPoint',
        // Root through its own access point only: it reaches every target's 0700 directory (modules/backup-stack.ts).
        actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
        resources: [props.fileSystemArn],
        condition: [{ test: 'StringEquals', variable: 'elasticfilesystem:AccessPointArn', values: [props.accessPointArn] }],
      },
      ...(props.deadLetterQueueArn === undefined
        ? []
        : [
            {
              sid: 'SqsDeadLetterQueue',
              // Lambda sends a failed asynchronous invocation's record to its on-failure destination with this role.
              actions: ['sqs:SendMessage'],
              resources: [props.deadLetterQueueArn],
            },
          ]),
      {
        sid: 'VpcNetworkInterfaces',
        actions: [...VPC_ENI_ACTIONS],
        resources: ['*'],
      },
      {
        sid: 'OwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [account.arn('logs', `log-group:/aws/lambda/${props.functionName}:*`)],
      },
      {
        sid: 'DenyDirectSsmSessions',
        // ECS Exec opens its session through ecs:ExecuteCommand; a direct session is never needed.
        effect: 'Deny',
        actions: ['ssm:StartSession'],
        resources: ['*'],
      },
    ];

    const assume = new DataAwsIamPolicyDocument(this, 'assume', {
      statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }] }],
    });
    const role = new IamRole(this, 'role', {
      name: props.roleName,
      description: 'ecs-db-backup orchestrator Lambda',
      assumeRolePolicy: assume.json,
    });
    const document = new DataAwsIamPolicyDocument(this, 'permissions', { statement: statements });
    this.policy = new IamRolePolicy(this, 'policy', { name: props.roleName, role: role.id, policy: document.json });
    this.roleArn = role.arn;
    this.roleName = role.name;
  }
}

/**
 * Clusters grouped by the exact set of container names their targets use, and by the services their tasks are limited to (each group's clusters and names
 * sorted): a group's statement allows no container in a cluster that the per-cluster statements would not.
 */
export function clustersByContainers(targets: readonly ExecTarget[]): ExecGroup[] {
  const byCluster = new Map<string, ExecTarget[]>();
  for (const t of targets) byCluster.set(t.cluster, [...(byCluster.get(t.cluster) ?? []), t]);
  const groups = new Map<string, ExecGroup>();
  for (const [cluster, inCluster] of byCluster) {
    const containers = [...new Set(inCluster.map((t) => t.container))].sort();
    // Only when every target of the cluster has ECS managed tags can its tasks be limited to the services' tasks.
    const services = inCluster.every((t) => t.ecsManagedTags === true) ? [...new Set(inCluster.map((t) => t.service))].sort() : null;
    const key = JSON.stringify([containers, services]);
    const group = groups.get(key) ?? { clusters: [], containers, services };
    group.clusters.push(cluster);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ ...g, clusters: g.clusters.sort() })).sort((a, b) => a.clusters[0]!.localeCompare(b.clusters[0]!));
}

/** Clusters whose ExecuteCommand statements are the same: same container names, same services when limited to them. */
export interface ExecGroup {
  clusters: string[];
  containers: string[];
  /** The services whose tasks alone may be exec'd into (aws:ecs:serviceName), or null: any task of the clusters. */
  services: string[] | null;
}

/**
 * ecs:ExecuteCommand in a group's clusters, only into the configured containers (ecs:container-name). When the group
 * is limited to services, the task resources get their own statement that also requires the task's aws:ecs:serviceName
 * tag (ECS puts it on a service's tasks only when the service has enableECSManagedTags; a task without it is refused):
 * ExecuteCommand authorizes the cluster too, which carries no such tag.
 */
function executeCommandStatements(group: ExecGroup, clusterArn: (c: string) => string, tasksArn: (c: string) => string): DataAwsIamPolicyDocumentStatement[] {
  const suffix = statementSuffix(group.clusters.join(','));
  const containers = { test: 'StringEquals', variable: 'ecs:container-name', values: group.containers };
  const clusters = group.clusters.map(clusterArn);
  const tasks = group.clusters.map(tasksArn);
  if (group.services === null) {
    return [{ sid: `EcsExecuteCommand${suffix}`, actions: ['ecs:ExecuteCommand'], resources: group.clusters.flatMap((c) => [clusterArn(c), tasksArn(c)]), condition: [containers] }];
  }
  return [
    { sid: `EcsExecuteCommand${suffix}`, actions: ['ecs:ExecuteCommand'], resources: clusters, condition: [containers] },
    {
      sid: `EcsExecuteCommandServiceTasks${suffix}`,
      actions: ['ecs:ExecuteCommand'],
      resources: tasks,
      condition: [containers, { test: 'StringEquals', variable: 'aws:ResourceTag/aws:ecs:serviceName', values: group.services }],
    },
  ];
}

/**
 * Runner tasks: RunTask only of their task definitions and only in their clusters, StopTask (a dump past its timeout)
 * only in those clusters, PassRole only of their roles and only to ECS tasks, GetSecretValue only of their secrets.
 */
function runnerStatements(runners: readonly RunnerGrant[], clusterArn: (c: string) => string, tasksArn: (c: string) => string): DataAwsIamPolicyDocumentStatement[] {
  if (runners.length === 0) return [];
  const clusters = [...new Set(runners.map((r) => r.cluster))].sort();
  return [
    ...clusters.map((cluster) => ({
      sid: `EcsRunRunnerTasks${statementSuffix(cluster)}`,
      actions: ['ecs:RunTask'],
      resources: [...new Set(runners.filter((r) => r.cluster === cluster).map((r) => r.taskDefinitionArns))].sort(),
      condition: [{ test: 'ArnEquals', variable: 'ecs:cluster', values: [clusterArn(cluster)] }],
    })),
    {
      sid: 'EcsStopRunnerTasks',
      actions: ['ecs:StopTask'],
      resources: clusters.map(tasksArn),
      condition: [{ test: 'ArnEquals', variable: 'ecs:cluster', values: clusters.map(clusterArn) }],
    },
    {
      sid: 'PassRunnerTaskRoles',
      actions: ['iam:PassRole'],
      resources: runners.flatMap((r) => r.passRoleArns),
      condition: [{ test: 'StringEquals', variable: 'iam:PassedToService', values: ['ecs-tasks.amazonaws.com'] }],
    },
    {
      sid: 'ReadRunnerSecrets',
      // The host, port and user of the database; the password in it reaches only the runner task.
      actions: ['secretsmanager:GetSecretValue'],
      resources: [...new Set(runners.map((r) => r.secretArn))].sort(),
    },
  ];
}

/** Read-only access to the replica's objects under the prefix, for restores from it: no write, no delete, KMS Decrypt only through S3 there. */
function replicaReadStatements(replica: NonNullable<OrchestratorRoleProps['replica']>, keyPrefix: string): DataAwsIamPolicyDocumentStatement[] {
  return [
    { sid: 'S3ReadReplicaUnderPrefix', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [`${replica.bucketArn}/${keyPrefix}*`] },
    {
      sid: 'S3ListReplicaUnderPrefix',
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resources: [replica.bucketArn],
      ...(keyPrefix === '' ? {} : { condition: [{ test: 'StringLike', variable: 's3:prefix', values: [`${keyPrefix}*`] }] }),
    },
    ...(replica.kmsKeyArn === undefined
      ? []
      : [
          {
            sid: 'KmsDecryptReplicaObjects',
            actions: ['kms:Decrypt'],
            resources: [replica.kmsKeyArn],
            condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${replica.region}.amazonaws.com`] }],
          },
        ]),
  ];
}

/** The service resources of targets that may be restarted, as one list (none: no statement). */
function restartable(targets: readonly ExecTarget[]): string[][] {
  const services = [...new Set(targets.filter((t) => t.allowServiceRestart === true).map((t) => `service/${t.cluster}/${t.service}`))].sort();
  return services.length === 0 ? [] : [services];
}

/**
 * A Sid suffix unique per cluster name: a Sid may only hold letters and digits, so the name's letters and digits
 * (readable) plus 8 hex digits of its sha256 (unique: `prod-db` and `prod_db` differ only in what the Sid drops).
 */
export function statementSuffix(name: string): string {
  return `${name.replace(/[^A-Za-z0-9]/g, '')}${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}
