/**
 * Every AWS SDK command the code in functions/ sends, with the IAM requests it makes and the resources
 * they touch. orchestrator-permissions.test.ts simulates each orchestrator request against the
 * synthesized role policies; aws-calls-complete.test.ts scans functions/ and fails on a `…Command`
 * imported from @aws-sdk that is not listed here, or listed with the wrong caller. The local stand-ins
 * (moto, the ECS/agent stand-in) enforce no IAM for the orchestrator, so this is where a new call
 * without its permission is caught.
 *
 * Adding a call is one line in AWS_CALLS: the command, its client package, who sends it and the IAM
 * requests it makes (the helpers below build the common shapes). Then grant it in modules/orchestrator-role.ts.
 */

/** The resources of one target, as the orchestrator's requests name them after apply. */
export interface CallScope {
  /** Bucket ARN. */
  readonly bucket: string;
  /** Whether the bucket is an existing one (the Lambda checks its versioning). */
  readonly existingBucket: boolean;
  /** ARN of an object under the key prefix (one of the target's backups). */
  readonly object: string;
  /** The `s3:prefix` the orchestrator lists with (the target's folder under the key prefix). */
  readonly listPrefix: string;
  /** ARN of the target's cluster. */
  readonly cluster: string;
  /** ARN of a task of the target's service. */
  readonly task: string;
  /** ARN of a container instance of the cluster (ecs:ListTasks' resource type). */
  readonly containerInstance: string;
  /** Container name in the task. */
  readonly container: string;
  /** ARN of the target's service. */
  readonly service: string;
  /** Whether the target has allowServiceRestart (a Redis restore may UpdateService). */
  readonly restartable: boolean;
  /** The bucket's KMS key ARN, when SSE-KMS is configured. */
  readonly bucketKey: string | undefined;
  /** The exec KMS key ARN of the target's cluster, when its sessions are KMS-encrypted. */
  readonly execKey: string | undefined;
  /** ARN of an ECS Exec session (ssm session `ecs-execute-command-…`). */
  readonly session: string;
  /** The S3 endpoint name KMS sees in kms:ViaService. */
  readonly s3Service: string;
  /** The replica bucket (`replication`), which restores read from: its ARN, the object's there, its KMS key and S3 endpoint name. */
  readonly replica?: { readonly bucket: string; readonly object: string; readonly key: string | undefined; readonly s3Service: string };
  /** The target's mode: exec targets are reached over ECS Exec, task targets through their runner task. */
  readonly mode: 'exec' | 'task';
  /** A task target's runner: a revision of its task definition, the roles RunTask passes, its secret. */
  readonly runner?: { readonly taskDefinition: string; readonly passRoles: readonly string[]; readonly secretArn: string };
}

/** One request IAM authorizes. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string | string[]>>;
}

/** Who sends a command: the Lambda with its role, or exec-check/scripts with the operator's own credentials. */
export type Caller = 'orchestrator' | 'operator';

/** One SDK command and what it needs. */
export interface AwsCall {
  /** Class name as imported, e.g. `PutObjectCommand`. */
  readonly command: string;
  /** Client package, e.g. `@aws-sdk/client-s3`. */
  readonly client: string;
  readonly by: Caller;
  /** The IAM requests it makes for one target (orchestrator calls only; the operator's policy is theirs). */
  readonly needs: (s: CallScope) => readonly IamRequest[];
}

const S3 = '@aws-sdk/client-s3';
const ECS = '@aws-sdk/client-ecs';
const KMS = '@aws-sdk/client-kms';

const req = (action: string, resource: string, context?: Record<string, string | string[]>): IamRequest => ({ action, resource, ...(context ? { context } : {}) });
/** An S3 object request on the target's backup object. */
const object = (action: string) => (s: CallScope) => req(`s3:${action}`, s.object);
/** What S3 asks KMS for on the caller's behalf when the bucket uses SSE-KMS (none with SSE-S3). */
const viaS3 = (s: CallScope, ...actions: string[]) =>
  s.bucketKey === undefined ? [] : actions.map((a) => req(`kms:${a}`, s.bucketKey as string, { 'kms:ViaService': s.s3Service }));
/** An ECS request scoped by the ecs:cluster condition key. */
const inCluster = (action: string, resource: (s: CallScope) => string) => (s: CallScope) => req(`ecs:${action}`, resource(s), { 'ecs:cluster': s.cluster });
const none = () => [];
/** The same read on the replica, when replication is configured (restores from the replica read it, never write it). */
const onReplica = (s: CallScope, read: (r: NonNullable<CallScope['replica']>) => IamRequest[]) => (s.replica === undefined ? [] : read(s.replica));
/** What S3 asks the replica's KMS key for on a read there. */
const decryptViaReplicaS3 = (r: NonNullable<CallScope['replica']>) => (r.key === undefined ? [] : [req('kms:Decrypt', r.key, { 'kms:ViaService': r.s3Service })]);
/** Only for exec targets (ECS Exec and the task lookup before it). */
const exec = (needs: (s: CallScope) => readonly IamRequest[]) => (s: CallScope) => (s.mode === 'exec' ? needs(s) : []);
/** Only for task targets, with their runner. */
const runner = (needs: (s: CallScope, r: NonNullable<CallScope['runner']>) => readonly IamRequest[]) => (s: CallScope) => (s.runner ? needs(s, s.runner) : []);

/** Every SDK command in functions/. One line each. */
export const AWS_CALLS: readonly AwsCall[] = [
  // The orchestrator Lambda, with its role.
  { command: 'ListTasksCommand', client: ECS, by: 'orchestrator', needs: exec((s) => [inCluster('ListTasks', (x) => x.containerInstance)(s)]) },
  { command: 'DescribeTasksCommand', client: ECS, by: 'orchestrator', needs: (s) => [inCluster('DescribeTasks', (x) => x.task)(s)] },
  { command: 'DescribeClustersCommand', client: ECS, by: 'orchestrator', needs: exec((s) => [req('ecs:DescribeClusters', s.cluster)]) },
  // The task is the service's: with ECS managed tags on, it carries aws:ecs:serviceName (the role may require it).
  { command: 'ExecuteCommandCommand', client: ECS, by: 'orchestrator', needs: exec((s) => [s.cluster, s.task].map((r) => req('ecs:ExecuteCommand', r, { 'ecs:cluster': s.cluster, 'ecs:container-name': s.container, 'ecs:task': s.task, ...(r === s.task ? { 'aws:ResourceTag/aws:ecs:serviceName': s.service.slice(s.service.lastIndexOf('/') + 1) } : {}) }))) },
  {
    command: 'RunTaskCommand',
    client: ECS,
    by: 'orchestrator',
    needs: runner((s, r) => [req('ecs:RunTask', r.taskDefinition, { 'ecs:cluster': s.cluster }), ...r.passRoles.map((role) => req('iam:PassRole', role, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }))]),
  },
  { command: 'StopTaskCommand', client: ECS, by: 'orchestrator', needs: runner((s) => [inCluster('StopTask', (x) => x.task)(s)]) },
  { command: 'GetSecretValueCommand', client: '@aws-sdk/client-secrets-manager', by: 'orchestrator', needs: runner((_s, r) => [req('secretsmanager:GetSecretValue', r.secretArn)]) },
  { command: 'UpdateServiceCommand', client: ECS, by: 'orchestrator', needs: (s) => (s.restartable ? [inCluster('UpdateService', (x) => x.service)(s)] : []) },
  { command: 'GenerateDataKeyCommand', client: KMS, by: 'orchestrator', needs: (s) => (s.execKey === undefined ? [] : [req('kms:GenerateDataKey', s.execKey)]) },
  { command: 'TerminateSessionCommand', client: '@aws-sdk/client-ssm', by: 'orchestrator', needs: (s) => [req('ssm:TerminateSession', s.session)] },
  { command: 'PutObjectCommand', client: S3, by: 'orchestrator', needs: (s) => [object('PutObject')(s), ...viaS3(s, 'GenerateDataKey')] },
  { command: 'GetObjectCommand', client: S3, by: 'orchestrator', needs: (s) => [object('GetObject')(s), object('GetObjectVersion')(s), ...viaS3(s, 'Decrypt'), ...onReplica(s, (r) => [req('s3:GetObject', r.object), req('s3:GetObjectVersion', r.object), ...decryptViaReplicaS3(r)])] },
  { command: 'HeadObjectCommand', client: S3, by: 'orchestrator', needs: (s) => [object('GetObject')(s), object('GetObjectVersion')(s), ...onReplica(s, (r) => [req('s3:GetObject', r.object), req('s3:GetObjectVersion', r.object)])] },
  { command: 'ListObjectsV2Command', client: S3, by: 'orchestrator', needs: (s) => [req('s3:ListBucket', s.bucket, { 's3:prefix': s.listPrefix }), ...onReplica(s, (r) => [req('s3:ListBucket', r.bucket, { 's3:prefix': s.listPrefix })])] },
  { command: 'ListObjectVersionsCommand', client: S3, by: 'orchestrator', needs: (s) => [req('s3:ListBucketVersions', s.bucket, { 's3:prefix': s.listPrefix }), ...onReplica(s, (r) => [req('s3:ListBucketVersions', r.bucket, { 's3:prefix': s.listPrefix })])] },
  { command: 'CreateMultipartUploadCommand', client: S3, by: 'orchestrator', needs: (s) => [object('PutObject')(s), ...viaS3(s, 'GenerateDataKey')] },
  { command: 'UploadPartCommand', client: S3, by: 'orchestrator', needs: (s) => [object('PutObject')(s), ...viaS3(s, 'GenerateDataKey')] },
  { command: 'CompleteMultipartUploadCommand', client: S3, by: 'orchestrator', needs: (s) => [object('PutObject')(s), ...viaS3(s, 'Decrypt')] },
  { command: 'AbortMultipartUploadCommand', client: S3, by: 'orchestrator', needs: (s) => [object('AbortMultipartUpload')(s)] },
  { command: 'ListPartsCommand', client: S3, by: 'orchestrator', needs: (s) => [object('ListMultipartUploadParts')(s)] },
  { command: 'GetBucketVersioningCommand', client: S3, by: 'orchestrator', needs: (s) => (s.existingBucket ? [req('s3:GetBucketVersioning', s.bucket)] : []) },
  // exec-check (scripts/exec-check.ts) with the operator's own credentials; it simulates the orchestrator's role itself.
  // exec-check's ListTasks goes through functions/shared/exec/task-picker.ts (it checks the task the orchestrator picks),
  // a file of the Lambda bundle, so the scan counts it as the orchestrator's call above.
  { command: 'DescribeTasksCommand', client: ECS, by: 'operator', needs: none },
  { command: 'DescribeClustersCommand', client: ECS, by: 'operator', needs: none },
  { command: 'DescribeContainerInstancesCommand', client: ECS, by: 'operator', needs: none },
  { command: 'DescribeTaskDefinitionCommand', client: ECS, by: 'operator', needs: none },
  { command: 'DescribeKeyCommand', client: KMS, by: 'operator', needs: none },
  { command: 'GetFunctionConfigurationCommand', client: '@aws-sdk/client-lambda', by: 'operator', needs: none },
  { command: 'InvokeCommand', client: '@aws-sdk/client-lambda', by: 'operator', needs: none },
  { command: 'SimulatePrincipalPolicyCommand', client: '@aws-sdk/client-iam', by: 'operator', needs: none },
  { command: 'GetInstanceProfileCommand', client: '@aws-sdk/client-iam', by: 'operator', needs: none },
  { command: 'GetRoleCommand', client: '@aws-sdk/client-iam', by: 'operator', needs: none },
  { command: 'GetCallerIdentityCommand', client: '@aws-sdk/client-sts', by: 'operator', needs: none },
  { command: 'DescribeInstancesCommand', client: '@aws-sdk/client-ec2', by: 'operator', needs: none },
  { command: 'DescribeRouteTablesCommand', client: '@aws-sdk/client-ec2', by: 'operator', needs: none },
  { command: 'DescribeVpcEndpointsCommand', client: '@aws-sdk/client-ec2', by: 'operator', needs: none },
  { command: 'DescribeSubnetsCommand', client: '@aws-sdk/client-ec2', by: 'operator', needs: none },
  { command: 'DescribeSecurityGroupsCommand', client: '@aws-sdk/client-ec2', by: 'operator', needs: none },
  { command: 'DescribeAccessPointsCommand', client: '@aws-sdk/client-efs', by: 'operator', needs: none },
  { command: 'DescribeMountTargetsCommand', client: '@aws-sdk/client-efs', by: 'operator', needs: none },
  { command: 'DescribeMountTargetSecurityGroupsCommand', client: '@aws-sdk/client-efs', by: 'operator', needs: none },
  { command: 'DescribeLogGroupsCommand', client: '@aws-sdk/client-cloudwatch-logs', by: 'operator', needs: none },
  { command: 'GetBucketEncryptionCommand', client: S3, by: 'operator', needs: none },
];

/**
 * What the Lambda service does with the role on the function's behalf, with no SDK command in our
 * code: mount the EFS access point (as root) and write logs. (The VPC ENI actions have resource "*" and are
 * checked by the role test.)
 */
export const RUNTIME_REQUESTS = (fileSystem: string, accessPoint: string, logStream: string): readonly IamRequest[] => [
  req('elasticfilesystem:ClientMount', fileSystem, { 'elasticfilesystem:AccessPointArn': accessPoint }),
  req('elasticfilesystem:ClientWrite', fileSystem, { 'elasticfilesystem:AccessPointArn': accessPoint }),
  // The access point's POSIX user is root: it reaches every target's 0700 directory.
  req('elasticfilesystem:ClientRootAccess', fileSystem, { 'elasticfilesystem:AccessPointArn': accessPoint }),
  req('logs:CreateLogStream', logStream),
  req('logs:PutLogEvents', logStream),
];
