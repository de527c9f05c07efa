import { RunnerTasks } from './runner-tasks.js';
import { execTargets } from '../functions/shared/config/target-mode.js';
import type { Construct } from 'constructs';
import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { serializeTargets, TARGETS_FILE_ENV, TARGETS_FILE_NAME } from '../functions/shared/config/load.js';
import type { BackupConfig } from '../functions/shared/config/schema.js';
import { backupAgeLimitHours } from '../functions/shared/core/schedule.js';
import { AccountContext } from './account-context.js';
import { BackupAlarms, METRICS_NAMESPACE } from './alarms.js';
import { BackupBucket } from './backup-bucket.js';
import { BackupDashboard } from './dashboard.js';
import { DisasterRecovery } from './disaster-recovery.js';
import { BackupAccessPoint } from './efs-access-point.js';
import { BackupFileSystemPolicy } from './efs-file-system-policy.js';
import { TargetAccessPoints } from './target-access-points.js';
import { Network } from './network.js';
import { EFS_MOUNT_PATH, OrchestratorFunction } from './orchestrator-function.js';
import { OrchestratorDeadLetterQueue } from './orchestrator-dlq.js';
import { OrchestratorRole } from './orchestrator-role.js';
import { HourlySchedule } from './schedule.js';
import { TaskRoleExecPolicy } from './task-role-exec.js';
import { orchestratorFunctionName } from '../functions/shared/config/deployment-names.js';


/** Props of {@link BackupStack}. */
export interface BackupStackProps {
  /** The validated configuration. */
  readonly config: BackupConfig;
  /** Directory holding the built orchestrator bundle. */
  readonly bundleDir: string;
}

/**
 * The whole deployment: composes the constructs in modules/ from one validated config. The config's
 * `name` prefixes every resource name and is the metrics' `service` dimension, so deployments with
 * different names share an account and region; main.ts also uses it as the stack's id (its state file).
 */
export class BackupStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: BackupStackProps) {
    super(scope, id);
    const { config } = props;
    const namePrefix = config.name;
    const functionName = orchestratorFunctionName(namePrefix);

    // Relative to cdktf.out/stacks/<stack>/ (and cdktf.out.hcl/...): the state stays in the project
    // root, shared by the JSON and the HCL form and kept when the output directories are rebuilt.
    new LocalBackend(this, { path: `../../../terraform.${id}.tfstate` });
    const defaultTags = { Project: 'ecs-db-backup' };
    new AwsProvider(this, 'aws', { region: config.region, defaultTags: [{ tags: defaultTags }] });
    const account = new AccountContext(this, 'account', { region: config.region });

    const bucket = new BackupBucket(this, 'bucket', {
      bucketName: config.bucket.name,
      existing: config.bucket.existing,
      kmsKeyArn: config.kmsKeyArn,
      retentionDays: config.retentionDays,
      objectLock: config.objectLock,
      account,
    });
    const network = new Network(this, 'network', {
      namePrefix,
      region: config.region,
      vpcId: config.vpcId,
      subnetIds: config.subnetIds,
      efsMountTargetSecurityGroupId: config.efs.mountTargetSecurityGroupId,
      s3Gateway: config.endpoints.s3Gateway,
      routeTableIds: config.endpoints.routeTableIds,
      ecsEndpoint: config.endpoints.ecs,
      ssmmessagesEndpoint: config.endpoints.ssmmessages,
      endpointClientCidrs: config.endpoints.clientCidrs,
    });
    // The orchestrator reaches every target's directory (each 0700, its own uid) through one access point as root:
    // a Lambda mounts one file system config only, and no other user may enter them. Root here is why the Lambda
    // never follows a link on EFS (functions/shared/adapters/efs-no-follow.ts).
    const accessPoint = new BackupAccessPoint(this, 'efs', {
      namePrefix,
      name: 'orchestrator',
      fileSystemId: config.efs.fileSystemId,
      rootPath: config.efs.rootPath,
      posixUid: 0,
      posixGid: 0,
      account,
    });
    const targetAccessPoints = new TargetAccessPoints(this, 'efs-targets', { namePrefix, efs: config.efs, targets: config.targets, account });
    const deadLetters = new OrchestratorDeadLetterQueue(this, 'dead-letters', { queueName: `${namePrefix}-orchestrator-dead-letters` });
    const runners = new RunnerTasks(this, 'runners', {
      namePrefix,
      targets: config.targets,
      fileSystemId: config.efs.fileSystemId,
      fileSystemArn: accessPoint.fileSystemArn,
      accessPoints: targetAccessPoints.byTarget,
      efsMountTargetSecurityGroupId: config.efs.mountTargetSecurityGroupId,
      logRetentionDays: config.lambda.logRetentionDays,
      account,
    });
    const role = new OrchestratorRole(this, 'role', {
      roleName: functionName,
      functionName,
      targets: execTargets(config.targets),
      runners: runners.grants,
      bucketArn: bucket.bucketArn,
      keyPrefix: config.keyPrefix,
      readBucketVersioning: config.bucket.existing,
      kmsKeyArn: config.kmsKeyArn,
      execKmsKeyArns: Object.values(config.execKmsKeys),
      fileSystemArn: accessPoint.fileSystemArn,
      accessPointArn: accessPoint.accessPointArn,
      account,
      deadLetterQueueArn: deadLetters.queueArn,
      ...(config.replication === undefined
        ? {}
        : { replica: { bucketArn: account.bucketArn(config.replication.bucketName), region: config.replication.region, kmsKeyArn: config.replication.kmsKeyArn } }),
    });
    const ageLimits = Object.fromEntries(config.targets.map((t) => [t.name, backupAgeLimitHours(t)]));
    const environment = {
      [TARGETS_FILE_ENV]: TARGETS_FILE_NAME,
      BUCKET: config.bucket.name,
      KEY_PREFIX: config.keyPrefix,
      EFS_MOUNT_PATH,
      FAST_PATH_SECONDS: String(config.lambda.fastPathSeconds),
      POWERTOOLS_SERVICE_NAME: namePrefix,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      ...(config.kmsKeyArn === undefined ? {} : { KMS_KEY_ARN: config.kmsKeyArn }),
      // The stack does not own an existing bucket's settings: the Lambda checks its versioning itself.
      ...(config.bucket.existing ? { CHECK_BUCKET_VERSIONING: '1' } : {}),
      // The one other bucket a restore may read (restore --region <replica region>).
      ...(config.replication === undefined ? {} : { REPLICA_BUCKET: config.replication.bucketName, REPLICA_REGION: config.replication.region }),
    };
    const fn = new OrchestratorFunction(this, 'orchestrator', {
      functionName,
      bundleDir: props.bundleDir,
      // The targets travel in the code asset, replaced with the code in one step (see modules/orchestrator-asset.ts).
      // With the fleet staleness alarm, each target's limit too: the Lambda counts the stale targets by them.
      dataFiles: { [TARGETS_FILE_NAME]: serializeTargets(config.targets, config.alarms.staleness === 'fleet' ? ageLimits : undefined) },
      roleArn: role.roleArn,
      subnetIds: config.subnetIds,
      securityGroupIds: [network.lambdaSecurityGroupId, ...config.securityGroupIds],
      accessPointArn: accessPoint.accessPointArn,
      environment,
      timeoutSeconds: config.lambda.timeoutSeconds,
      memoryMb: config.lambda.memoryMb,
      reservedConcurrency: config.lambda.reservedConcurrency,
      logRetentionDays: config.lambda.logRetentionDays,
      dependsOn: [role.policy],
    });
    const fileSystemPolicy = new BackupFileSystemPolicy(this, 'efs-policy', {
      fileSystemId: config.efs.fileSystemId,
      fileSystemArn: accessPoint.fileSystemArn,
      orchestrator: { accessPointArn: accessPoint.accessPointArn, roleArn: role.roleArn },
      targets: config.targets.map((t) => ({ accessPointArn: targetAccessPoints.byTarget.get(t.name)!.accessPointArn, taskRoleName: t.taskRoleName })),
      account,
      manage: config.efs.manageFileSystemPolicy,
    });
    deadLetters.routeFailuresOf(fn.functionName, [role.policy]);
    new HourlySchedule(this, 'schedule', { ruleName: namePrefix, functionName: fn.functionName, functionArn: fn.functionArn });
    const alarms = new BackupAlarms(this, 'alarms', {
      namePrefix,
      service: namePrefix,
      functionName: fn.functionName,
      targets: config.targets.map((t) => ({ name: t.name, drill: t.drill !== undefined, backupAgeLimitHours: ageLimits[t.name]! })),
      alarmEmail: config.alarmEmail,
      deadLetterQueueName: deadLetters.queueName,
      staleness: config.alarms.staleness,
    });
    const dashboard = new BackupDashboard(this, 'dashboard', {
      dashboardName: namePrefix,
      region: config.region,
      namespace: METRICS_NAMESPACE,
      service: namePrefix,
      targets: config.targets.map((t) => t.name),
      logGroupName: fn.logGroupName,
      // Every alarm of the stack, found in the tree: ARNs from names, so a plan shows the whole body.
      alarms: alarms.node.findAll().flatMap((c) =>
        c instanceof CloudwatchMetricAlarm ? [{ arn: account.arn('cloudwatch', `alarm:${c.alarmNameInput}`), target: c.dimensionsInput?.target ?? null }] : [],
      ),
    });
    new DisasterRecovery(this, 'dr', { config, namePrefix, bucket, alarmTopicArn: alarms.topicArn, defaultTags, account });
    new TaskRoleExecPolicy(this, 'task-exec', {
      policyName: `${namePrefix}-ecs-exec`,
      taskRoleNames: config.targets.flatMap((t) => (t.taskRoleName === undefined ? [] : [t.taskRoleName])),
      // The exec keys of clusters with a task role named (one policy serves all the task roles).
      execKmsKeyArns: config.targets.flatMap((t) => {
        const key = config.execKmsKeys[t.cluster];
        return t.taskRoleName !== undefined && key !== undefined ? [key] : [];
      }),
    });

    new TerraformOutput(this, 'bucket_name', { value: bucket.bucketName, description: 'Bucket the backups are uploaded to.' });
    new TerraformOutput(this, 'function_name', { value: fn.functionName, description: 'Name of the orchestrator Lambda.' });
    new TerraformOutput(this, 'function_arn', { value: fn.functionArn, description: 'ARN of the orchestrator Lambda.' });
    new TerraformOutput(this, 'dashboard_name', { value: dashboard.dashboardName, description: "CloudWatch dashboard of every target's backups and alarms." });
    new TerraformOutput(this, 'alarm_topic_arn', { value: alarms.topicArn, description: 'SNS topic the alarms notify.' });
    new TerraformOutput(this, 'target_access_point_ids', {
      value: Object.fromEntries([...targetAccessPoints.byTarget].map(([name, ap]) => [name, ap.accessPointId])),
      description: "Each target's EFS access point, by target name: mount it (iam and transit encryption ENABLED) at the target's backupDir in its tasks only.",
    });
    new TerraformOutput(this, 'orchestrator_access_point_id', {
      value: accessPoint.accessPointId,
      description: "The orchestrator's EFS access point (root over every target's directory): never mount it in a task.",
    });
    new TerraformOutput(this, 'efs_file_system_policy', {
      value: fileSystemPolicy.json,
      description: 'The backup file-system policy (TLS, backup access points only, each by its own role); attached when efs.manageFileSystemPolicy, else merge it into your own.',
    });
    new TerraformOutput(this, 'lambda_security_group_id', {
      value: network.lambdaSecurityGroupId,
      description: 'Security group of the orchestrator Lambda.',
    });
  }
}
