import { BackupClient } from '@aws-sdk/client-backup';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupRulesCommand, DescribeVpcEndpointsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeAccessPointsCommand, EFSClient } from '@aws-sdk/client-efs';
import { EventBridgeClient, DescribeRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetPolicyVersionCommand, GetPolicyCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetFunctionConcurrencyCommand, GetFunctionConfigurationCommand, GetPolicyCommand as GetFunctionPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketOwnershipControlsCommand, GetBucketPolicyCommand,
  GetBucketVersioningCommand, GetPublicAccessBlockCommand, S3Client,
} from '@aws-sdk/client-s3';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { TARGETS_FILE_ENV, TARGETS_FILE_NAME } from '../../functions/shared/config/load.js';
import type { BackupConfig } from '../../functions/shared/config/schema.js';
import { orchestratorFunctionName } from '../../functions/shared/config/deployment-names.js';
import { backupAgeLimitHours } from '../../functions/shared/core/schedule.js';
import { METRICS_NAMESPACE } from '../../modules/alarms.js';
import { BACKUP_DIR_PERMISSIONS } from '../../modules/efs-access-point.js';
import { targetPosixUser, targetRootPath } from '../../functions/shared/core/target-posix-user.js';
import { EFS_MOUNT_PATH, LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME } from '../../modules/orchestrator-function.js';
import { SSMMESSAGES_ACTIONS } from '../../modules/task-role-exec.js';
import type { AwsEndpoint } from './aws-endpoint.js';
import { readDeployedCode } from './deployed-code.js';

/**
 * Reads a deployed stack back through the AWS SDK and compares every property that matters with what
 * the config asks for. One row per property: `read` projects the API's answer to a plain value,
 * `expected` builds the same value from the config; a row whose values differ is a problem. A new
 * resource in the stack gets a new row here.
 */

/** What a row reads with. */
export interface ReadBackContext {
  readonly config: BackupConfig;
  /** Terraform outputs of the stack (name → value). */
  readonly outputs: Readonly<Record<string, string>>;
  /** The account the emulator reports. */
  readonly accountId: string;
  readonly clients: Clients;
  /** Resources and data sources in the Terraform state after apply (`terraform show -json`). */
  readonly state: readonly StateResource[];
  /** The synthesized stack directory Terraform applied (its assets are the deployed code). */
  readonly stackDir: string;
}

/** One resource or data source in the state. */
export interface StateResource {
  readonly address: string;
  readonly values: Record<string, unknown>;
}

/** The values of the one state entry whose address starts with `prefix`. */
export function stateValues(ctx: Pick<ReadBackContext, 'state'>, prefix: string): Record<string, unknown> {
  const found = ctx.state.filter((r) => r.address.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${prefix}* in the state, found ${found.length}`);
  return found[0]!.values;
}

/** One property of the deployed stack. */
export interface ReadBackRow {
  readonly what: string;
  /** Only for configs where this is deployed (default: always). */
  readonly when?: (config: BackupConfig) => boolean;
  read(ctx: ReadBackContext): Promise<unknown>;
  expected(ctx: ReadBackContext): unknown;
  /** A property the emulator does not store: what it reads back instead, and why (a fixed emulator fails the row until the gap is removed). */
  readonly emulatorGap?: { readonly reads: unknown; readonly why: string };
}

/** SDK clients for the deployment's region, made on first use. */
export interface Clients {
  readonly s3: S3Client;
  readonly iam: IAMClient;
  readonly lambda: LambdaClient;
  readonly ec2: EC2Client;
  readonly efs: EFSClient;
  readonly events: EventBridgeClient;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
  readonly sns: SNSClient;
  /** S3 and AWS Backup in another region (the replica's, the copy vault's), made on first use. */
  inRegion(region: string): { readonly s3: S3Client; readonly backup: BackupClient };
  destroy(): void;
}

/** Clients of every service a row reads, against `aws` in `region`. */
export function clientsFor(aws: AwsEndpoint, region: string): Clients {
  const c = aws.clientConfig(region);
  const made = {
    s3: new S3Client({ ...c, forcePathStyle: true }),
    iam: new IAMClient(c),
    lambda: new LambdaClient(c),
    ec2: new EC2Client(c),
    efs: new EFSClient(c),
    events: new EventBridgeClient(c),
    cloudwatch: new CloudWatchClient(c),
    logs: new CloudWatchLogsClient(c),
    sns: new SNSClient(c),
    backup: new BackupClient(c),
  };
  const regional = new Map<string, { s3: S3Client; backup: BackupClient }>([[region, made]]);
  const inRegion = (r: string) => {
    let found = regional.get(r);
    if (found === undefined) {
      const rc = aws.clientConfig(r);
      found = { s3: new S3Client({ ...rc, forcePathStyle: true }), backup: new BackupClient(rc) };
      regional.set(r, found);
    }
    return found;
  };
  const destroy = () => {
    Object.values(made).forEach((client) => client.destroy());
    for (const [r, other] of regional) if (r !== region) [other.s3, other.backup].forEach((client) => client.destroy());
  };
  return { ...made, inRegion, destroy };
}

const created = (config: BackupConfig) => !config.bucket.existing;
const functionName = (ctx: ReadBackContext) => orchestratorFunctionName(ctx.config.name);
const roleName = functionName;
const bucket = (ctx: ReadBackContext) => ctx.config.bucket.name;
const bucketArn = (ctx: ReadBackContext) => `arn:aws:s3:::${bucket(ctx)}`;
/** The values, sorted. */
export const sorted = <T>(values: Iterable<T>) => [...values].sort();
/** A policy document as IAM returns it (URL-encoded JSON). */
export const policyJson = (text: string | undefined) => JSON.parse(decodeURIComponent(text ?? '{}')) as { Statement: Array<Record<string, unknown>> };
/** A policy field as a sorted list (AWS may return a one-element list unwrapped). */
const asList = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? sorted(value as string[]) : [String(value)]);

async function accessPoint(ctx: ReadBackContext, id: string | undefined) {
  if (id === undefined) throw new Error('the stack has no such access point output');
  const points = (await ctx.clients.efs.send(new DescribeAccessPointsCommand({ AccessPointId: id }))).AccessPoints ?? [];
  if (points.length !== 1) throw new Error(`expected the access point ${id}, found ${points.length}`);
  const p = points[0]!;
  return { fileSystem: p.FileSystemId, uid: p.PosixUser?.Uid, gid: p.PosixUser?.Gid, path: p.RootDirectory?.Path, creation: p.RootDirectory?.CreationInfo };
}

/** What an access point should be: its file system, the user it enforces and the 0700 root it creates. */
const expectedAccessPoint = (ctx: ReadBackContext, path: string, uid: number, gid: number) => ({
  fileSystem: ctx.config.efs.fileSystemId, uid, gid, path, creation: { OwnerUid: uid, OwnerGid: gid, Permissions: BACKUP_DIR_PERMISSIONS },
});

/** The target_access_point_ids output: target name → access point id. */
const targetAccessPointIds = (ctx: ReadBackContext): Record<string, string> => JSON.parse(ctx.outputs.target_access_point_ids ?? '{}') as Record<string, string>;

async function rules(ctx: ReadBackContext, groupId: string) {
  const found = await ctx.clients.ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }));
  return sorted(
    (found.SecurityGroupRules ?? []).map((r) =>
      `${r.IsEgress ? 'out' : 'in'} ${r.IpProtocol}/${r.FromPort}-${r.ToPort} ${r.CidrIpv4 ?? r.ReferencedGroupInfo?.GroupId ?? '?'}`,
    ),
  );
}

async function endpoints(ctx: ReadBackContext) {
  const found = await ctx.clients.ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values: [ctx.config.vpcId] }] }));
  return found.VpcEndpoints ?? [];
}

const endpointService = (ctx: ReadBackContext, service: string) => `com.amazonaws.${ctx.config.region}.${service}`;
const interfaceServices = (config: BackupConfig) => [...(config.endpoints.ecs ? ['ecs'] : []), ...(config.endpoints.ssmmessages ? ['ssmmessages'] : [])];

async function alarms(ctx: ReadBackContext) {
  // AWS answers 100 alarms a page at most: a fleet has hundreds.
  const found: MetricAlarm[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ctx.clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${ctx.config.name}-`, MaxRecords: 100, NextToken: nextToken }));
    found.push(...(page.MetricAlarms ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return found.map((a) => ({
    name: a.AlarmName,
    metric: `${a.Namespace}/${a.MetricName}`,
    dimensions: Object.fromEntries((a.Dimensions ?? []).map((d) => [d.Name, d.Value])),
    actions: [a.AlarmActions ?? [], a.OKActions ?? []],
    missing: a.TreatMissingData,
    threshold: a.Threshold,
  })).sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

/** The alarms on the metrics the orchestrator emits (their names and dimensions are the contract with functions/). */
function expectedAlarms(ctx: ReadBackContext) {
  const topic = [ctx.outputs.alarm_topic_arn];
  const actions = [topic, topic];
  const target = (name: string) => ({ service: ctx.config.name, target: name });
  const onFailure = { actions, missing: 'notBreaching', threshold: 1 };
  const perTarget = ctx.config.alarms.staleness === 'per-target';
  return [
    { name: `${ctx.config.name}-orchestrator-errors`, metric: 'AWS/Lambda/Errors', dimensions: { FunctionName: functionName(ctx) }, ...onFailure },
    { name: `${ctx.config.name}-orchestrator-dead-letters`, metric: 'AWS/SQS/ApproximateNumberOfMessagesVisible', dimensions: { QueueName: `${ctx.config.name}-orchestrator-dead-letters` }, ...onFailure },
    ...(perTarget ? [] : [{ name: `${ctx.config.name}-stale-targets`, metric: `${METRICS_NAMESPACE}/StaleTargets`, dimensions: { service: ctx.config.name }, actions, missing: 'breaching', threshold: 0 }]),
    ...ctx.config.targets.flatMap((t) => [
      ...(perTarget ? [{ name: `${ctx.config.name}-${t.name}-no-backup`, metric: `${METRICS_NAMESPACE}/BackupAgeHours`, dimensions: target(t.name), actions, missing: 'breaching', threshold: backupAgeLimitHours(t) }] : []),
      { name: `${ctx.config.name}-${t.name}-backup-shrank`, metric: `${METRICS_NAMESPACE}/BackupShrank`, dimensions: target(t.name), ...onFailure },
      ...(t.drill === undefined
        ? []
        : [{ name: `${ctx.config.name}-${t.name}-restore-drill-failed`, metric: `${METRICS_NAMESPACE}/RestoreDrillFailure`, dimensions: target(t.name), ...onFailure }]),
    ]),
  ].sort((a, b) => a.name.localeCompare(b.name));
}

function expectedEnvironment(ctx: ReadBackContext): Record<string, unknown> {
  return {
    [TARGETS_FILE_ENV]: TARGETS_FILE_NAME,
    BUCKET: ctx.config.bucket.name,
    KEY_PREFIX: ctx.config.keyPrefix,
    EFS_MOUNT_PATH,
    FAST_PATH_SECONDS: String(ctx.config.lambda.fastPathSeconds),
    POWERTOOLS_SERVICE_NAME: ctx.config.name,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    ...(ctx.config.kmsKeyArn === undefined ? {} : { KMS_KEY_ARN: ctx.config.kmsKeyArn }),
    ...(ctx.config.replication === undefined ? {} : { REPLICA_BUCKET: ctx.config.replication.bucketName, REPLICA_REGION: ctx.config.replication.region }),
  };
}

/** The zip Terraform uploaded as the function's code (the state's `filename`, relative to the stack directory). */
export function deployedZip(ctx: Pick<ReadBackContext, 'state' | 'stackDir'>): string {
  return join(ctx.stackDir, String(stateValues(ctx, 'aws_lambda_function.').filename));
}

/** Every property checked after a deploy. */
export const READ_BACK_ROWS: readonly ReadBackRow[] = [
  {
    what: 'bucket versioning',
    read: async (ctx) => (await ctx.clients.s3.send(new GetBucketVersioningCommand({ Bucket: bucket(ctx) }))).Status,
    expected: () => 'Enabled',
  },
  {
    what: 'bucket encryption',
    when: created,
    read: async (ctx) => {
      const rule = (await ctx.clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket(ctx) }))).ServerSideEncryptionConfiguration?.Rules?.[0];
      return { ...rule?.ApplyServerSideEncryptionByDefault, bucketKey: rule?.BucketKeyEnabled ?? false };
    },
    expected: (ctx) =>
      ctx.config.kmsKeyArn === undefined
        ? { SSEAlgorithm: 'AES256', bucketKey: false }
        : { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: ctx.config.kmsKeyArn, bucketKey: true },
  },
  {
    what: 'bucket public access block',
    when: created,
    read: async (ctx) => (await ctx.clients.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket(ctx) }))).PublicAccessBlockConfiguration,
    expected: () => ({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }),
  },
  {
    what: 'bucket ownership',
    when: created,
    read: async (ctx) => (await ctx.clients.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: bucket(ctx) }))).OwnershipControls?.Rules?.map((r) => r.ObjectOwnership),
    expected: () => ['BucketOwnerEnforced'],
  },
  {
    what: 'bucket TLS-only policy',
    when: created,
    read: async (ctx) =>
      policyJson((await ctx.clients.s3.send(new GetBucketPolicyCommand({ Bucket: bucket(ctx) }))).Policy).Statement.map((s) => ({
        // "*" and {"AWS": "*"} are the same principal; AWS and moto return either.
        effect: s.Effect, principal: isDeepStrictEqual(s.Principal, { AWS: '*' }) ? '*' : s.Principal, actions: asList(s.Action), resources: asList(s.Resource), condition: s.Condition,
      })),
    expected: (ctx) => [
      { effect: 'Deny', principal: '*', actions: ['s3:*'], resources: sorted([bucketArn(ctx), `${bucketArn(ctx)}/*`]), condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ],
  },
  {
    what: 'bucket lifecycle',
    when: created,
    read: async (ctx) =>
      (await ctx.clients.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket(ctx) }))).Rules?.map((r) => ({
        id: r.ID, status: r.Status, noncurrentDays: r.NoncurrentVersionExpiration?.NoncurrentDays, abortDays: r.AbortIncompleteMultipartUpload?.DaysAfterInitiation,
      })),
    expected: (ctx) => [
      { id: 'expire-noncurrent-versions', status: 'Enabled', noncurrentDays: ctx.config.retentionDays, abortDays: undefined },
      { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', noncurrentDays: undefined, abortDays: 1 },
    ],
  },
  {
    what: 'orchestrator role trust',
    read: async (ctx) => policyJson((await ctx.clients.iam.send(new GetRoleCommand({ RoleName: roleName(ctx) }))).Role?.AssumeRolePolicyDocument).Statement.map((s) => ({ effect: s.Effect, action: s.Action, principal: s.Principal })),
    expected: () => [{ effect: 'Allow', action: 'sts:AssumeRole', principal: { Service: 'lambda.amazonaws.com' } }],
  },
  {
    what: 'orchestrator role policies (inline only, none attached)',
    read: async (ctx) => ({
      inline: (await ctx.clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName(ctx) }))).PolicyNames,
      attached: (await ctx.clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName(ctx) }))).AttachedPolicies ?? [],
    }),
    expected: (ctx) => ({ inline: [roleName(ctx)], attached: [] }),
  },
  {
    what: 'orchestrator role policy document (as synthesized)',
    read: async (ctx) => policyJson((await ctx.clients.iam.send(new GetRolePolicyCommand({ RoleName: roleName(ctx), PolicyName: roleName(ctx) }))).PolicyDocument),
    expected: (ctx) => JSON.parse(String(stateValues(ctx, 'data.aws_iam_policy_document.role_permissions').json)),
  },
  {
    what: 'Lambda function settings',
    read: async (ctx) => {
      const f = await ctx.clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName(ctx) }));
      return {
        runtime: f.Runtime, architectures: f.Architectures, handler: f.Handler, timeout: f.Timeout, memory: f.MemorySize, role: f.Role,
        subnets: sorted(f.VpcConfig?.SubnetIds ?? []), securityGroups: sorted(f.VpcConfig?.SecurityGroupIds ?? []),
      };
    },
    expected: (ctx) => ({
      runtime: LAMBDA_RUNTIME, architectures: [LAMBDA_ARCHITECTURE], handler: 'index.handler', timeout: ctx.config.lambda.timeoutSeconds, memory: ctx.config.lambda.memoryMb,
      role: `arn:aws:iam::${ctx.accountId}:role/${roleName(ctx)}`,
      subnets: sorted(ctx.config.subnetIds), securityGroups: sorted([ctx.outputs.lambda_security_group_id!, ...ctx.config.securityGroupIds]),
    }),
  },
  {
    what: 'Lambda EFS access point mount',
    read: async (ctx) =>
      ((await ctx.clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName(ctx) }))).FileSystemConfigs ?? []).map((fs) => ({ arn: fs.Arn, path: fs.LocalMountPath })),
    expected: (ctx) => [{ arn: `arn:aws:elasticfilesystem:${ctx.config.region}:${ctx.accountId}:access-point/${ctx.outputs.orchestrator_access_point_id}`, path: EFS_MOUNT_PATH }],
    emulatorGap: { reads: [], why: "moto 5.2's Lambda drops FileSystemConfigs on CreateFunction (it stores no EFS mounts)" },
  },
  {
    // The variables the orchestrator reads (env.ts); others may be added beside them.
    what: 'Lambda environment',
    read: async (ctx) => {
      const vars: Record<string, unknown> = { ...(await ctx.clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName(ctx) }))).Environment?.Variables };
      return Object.fromEntries(Object.keys(expectedEnvironment(ctx)).map((k) => [k, vars[k]]));
    },
    expected: expectedEnvironment,
  },
  {
    what: "Lambda code, downloaded from GetFunction's Code.Location: the synthesized asset, with the config's targets (and fleet staleness limits) in it",
    read: async (ctx) => {
      const code = await readDeployedCode(ctx.clients.lambda, functionName(ctx), deployedZip(ctx));
      return { downloadedIsDeployed: code.downloadedIsDeployed, deployedIsTheAsset: code.deployedIsTheAsset, ...code.packaged };
    },
    expected: (ctx) => ({
      downloadedIsDeployed: true,
      deployedIsTheAsset: true,
      targets: ctx.config.targets,
      ...(ctx.config.alarms.staleness === 'fleet' ? { ageLimitHours: Object.fromEntries(ctx.config.targets.map((t) => [t.name, backupAgeLimitHours(t)])) } : {}),
    }),
  },
  {
    what: 'Lambda reserved concurrency',
    read: async (ctx) => (await ctx.clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: functionName(ctx) }))).ReservedConcurrentExecutions,
    expected: (ctx) => ctx.config.lambda.reservedConcurrency,
  },
  {
    what: 'Lambda log group retention',
    read: async (ctx) => (await ctx.clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/aws/lambda/${functionName(ctx)}` }))).logGroups?.map((g) => [g.logGroupName, g.retentionInDays]),
    expected: (ctx) => [[`/aws/lambda/${functionName(ctx)}`, ctx.config.lambda.logRetentionDays]],
  },
  {
    what: "EFS orchestrator's access point",
    read: (ctx) => accessPoint(ctx, ctx.outputs.orchestrator_access_point_id),
    expected: (ctx) => expectedAccessPoint(ctx, ctx.config.efs.rootPath, 0, 0),
  },
  {
    what: "EFS targets' access points",
    read: async (ctx) => {
      const ids = targetAccessPointIds(ctx);
      return Object.fromEntries(await Promise.all(Object.keys(ids).sort().map(async (name) => [name, await accessPoint(ctx, ids[name])] as const)));
    },
    expected: (ctx) =>
      Object.fromEntries(
        [...ctx.config.targets].sort((a, b) => (a.name < b.name ? -1 : 1)).map((target) => {
          const { uid, gid } = targetPosixUser({ efs: ctx.config.efs, target });
          return [target.name, expectedAccessPoint(ctx, targetRootPath(ctx.config.efs.rootPath, target.name), uid, gid)];
        }),
      ),
  },
  {
    what: 'hourly rule and its target',
    read: async (ctx) => {
      const rule = await ctx.clients.events.send(new DescribeRuleCommand({ Name: ctx.config.name }));
      const targets = (await ctx.clients.events.send(new ListTargetsByRuleCommand({ Rule: ctx.config.name }))).Targets ?? [];
      return { schedule: rule.ScheduleExpression, state: rule.State, targets: targets.map((t) => t.Arn) };
    },
    expected: (ctx) => ({ schedule: 'rate(1 hour)', state: 'ENABLED', targets: [ctx.outputs.function_arn] }),
  },
  {
    what: 'invoke permission for the rule only',
    read: async (ctx) =>
      policyJson((await ctx.clients.lambda.send(new GetFunctionPolicyCommand({ FunctionName: functionName(ctx) }))).Policy).Statement.map((s) => ({
        principal: s.Principal, action: s.Action, sourceArn: (s.Condition as { ArnLike?: Record<string, string> } | undefined)?.ArnLike?.['AWS:SourceArn'],
      })),
    expected: (ctx) => [{ principal: { Service: 'events.amazonaws.com' }, action: 'lambda:InvokeFunction', sourceArn: `arn:aws:events:${ctx.config.region}:${ctx.accountId}:rule/${ctx.config.name}` }],
  },
  {
    what: 'alarms and their metric dimensions',
    read: alarms,
    expected: expectedAlarms,
  },
  {
    what: 'alarm e-mail subscription',
    read: async (ctx) => (await ctx.clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: ctx.outputs.alarm_topic_arn }))).Subscriptions?.map((s) => [s.Protocol, s.Endpoint]),
    expected: (ctx) => (ctx.config.alarmEmail === undefined ? [] : [['email', ctx.config.alarmEmail]]),
  },
  {
    what: 'Lambda security group rules',
    read: (ctx) => rules(ctx, ctx.outputs.lambda_security_group_id!),
    expected: (ctx) => sorted(['out tcp/443-443 0.0.0.0/0', `out tcp/2049-2049 ${ctx.config.efs.mountTargetSecurityGroupId}`]),
  },
  {
    what: 'NFS ingress on the mount targets group',
    read: async (ctx) => (await rules(ctx, ctx.config.efs.mountTargetSecurityGroupId)).filter((r) => r.startsWith('in ')),
    expected: (ctx) => [`in tcp/2049-2049 ${ctx.outputs.lambda_security_group_id}`],
  },
  {
    what: 'VPC endpoints',
    read: async (ctx) =>
      (await endpoints(ctx)).map((e) => ({
        service: e.ServiceName, type: e.VpcEndpointType, routeTables: sorted(e.RouteTableIds ?? []), subnets: sorted(e.SubnetIds ?? []), privateDns: e.PrivateDnsEnabled ?? false,
      })).sort((a, b) => String(a.service).localeCompare(String(b.service))),
    expected: (ctx) => [
      ...(ctx.config.endpoints.s3Gateway ? [{ service: endpointService(ctx, 's3'), type: 'Gateway', routeTables: sorted(ctx.config.endpoints.routeTableIds), subnets: [], privateDns: false }] : []),
      ...interfaceServices(ctx.config).map((s) => ({ service: endpointService(ctx, s), type: 'Interface', routeTables: [], subnets: sorted(ctx.config.subnetIds), privateDns: true })),
    ].sort((a, b) => a.service.localeCompare(b.service)),
  },
  {
    what: "interface endpoints' security group rules",
    when: (config) => interfaceServices(config).length > 0,
    read: async (ctx) => {
      const groups = new Set((await endpoints(ctx)).flatMap((e) => (e.Groups ?? []).map((g) => g.GroupId!)));
      if (groups.size !== 1) return `${groups.size} groups`;
      return rules(ctx, [...groups][0]!);
    },
    expected: (ctx) => sorted([`in tcp/443-443 ${ctx.outputs.lambda_security_group_id}`, ...new Set(ctx.config.endpoints.clientCidrs)].map((x) => (x.startsWith('in ') ? x : `in tcp/443-443 ${x}`))),
  },
  {
    what: 'task roles: the ECS Exec policy attached',
    when: (config) => config.targets.some((t) => t.taskRoleName !== undefined),
    read: async (ctx) => {
      const out: Record<string, unknown> = {};
      for (const role of taskRoles(ctx.config)) {
        const attached = (await ctx.clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? [];
        out[role] = await Promise.all(attached.map(async (p) => ({ name: p.PolicyName, actions: await policyActions(ctx, p.PolicyArn!) })));
      }
      return out;
    },
    expected: (ctx) => {
      const keys = ctx.config.targets.some((t) => t.taskRoleName !== undefined && ctx.config.execKmsKeys[t.cluster] !== undefined);
      const actions = sorted([...SSMMESSAGES_ACTIONS, ...(keys ? ['kms:Decrypt'] : [])]);
      return Object.fromEntries(taskRoles(ctx.config).map((role) => [role, [{ name: `${ctx.config.name}-ecs-exec`, actions }]]));
    },
  },
];

function taskRoles(config: BackupConfig): string[] {
  return sorted(new Set(config.targets.flatMap((t) => (t.taskRoleName === undefined ? [] : [t.taskRoleName]))));
}

async function policyActions(ctx: ReadBackContext, arn: string): Promise<string[]> {
  const policy = (await ctx.clients.iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
  const version = await ctx.clients.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.DefaultVersionId }));
  return sorted(new Set(policyJson(version.PolicyVersion?.Document).Statement.flatMap((s) => asList(s.Action))));
}

/** What a read-back found: rows that differ, and rows that hit a known emulator gap. */
export interface ReadBackResult {
  readonly checked: number;
  readonly problems: string[];
  readonly gaps: string[];
}

/** Runs every row that applies to the config. */
export async function readBack(ctx: ReadBackContext, rows: readonly ReadBackRow[] = READ_BACK_ROWS): Promise<ReadBackResult> {
  const result: ReadBackResult = { checked: 0, problems: [], gaps: [] };
  for (const row of rows) {
    if (row.when !== undefined && !row.when(ctx.config)) continue;
    (result as { checked: number }).checked++;
    try {
      const want = normalize(row.expected(ctx));
      const got = normalize(await row.read(ctx));
      if (isDeepStrictEqual(got, want)) continue;
      if (row.emulatorGap !== undefined && isDeepStrictEqual(got, normalize(row.emulatorGap.reads))) result.gaps.push(`${row.what}: ${row.emulatorGap.why}`);
      else result.problems.push(`${row.what}: read back ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    } catch (error) {
      result.problems.push(`${row.what}: could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return result;
}

/** Drops undefined fields, so a value the API leaves out equals one the config leaves out. */
function normalize(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value)) as unknown;
}
