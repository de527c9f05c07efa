import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import type { Target } from '../functions/shared/config/schema.js';
import { runnerContainerDefinition, runnerFamily, runnerRoleName, RUNNER_VOLUME } from '../functions/shared/core/runner-task.js';
import { ConfigError } from '../functions/shared/errors.js';
import type { AccountContext } from './account-context.js';

/** What the orchestrator needs to be allowed for one runner task. */
export interface RunnerGrant {
  /** Cluster name the task runs in. */
  readonly cluster: string;
  /** ARN of the task definition family, every revision (`…:task-definition/<family>:*`). */
  readonly taskDefinitionArns: string;
  /** The task's execution and task roles, which RunTask passes to ECS. */
  readonly passRoleArns: readonly string[];
  /** The target's secret (the orchestrator reads its host and user). */
  readonly secretArn: string;
}

/** Props of {@link RunnerTasks}. */
export interface RunnerTasksProps {
  /** The deployment name: prefixes the task definition families, the log group and the role names. */
  readonly namePrefix: string;
  /** The mode "task" targets (validated: each has secretArn and task). */
  readonly targets: readonly Target[];
  /** The backup file system, and each target's own access point (by target name): its runner task mounts that one only. */
  readonly fileSystemId: string;
  readonly fileSystemArn: string;
  readonly accessPoints: ReadonlyMap<string, { readonly accessPointId: string; readonly accessPointArn: string }>;
  /** Security group of the EFS mount targets: gets NFS ingress from the tasks' security groups. */
  readonly efsMountTargetSecurityGroupId: string;
  /** Retention of the runner tasks' log group. */
  readonly logRetentionDays: number;
  readonly account: AccountContext;
}

const TASKS_SERVICE = 'ecs-tasks.amazonaws.com';
const NFS_PORT = 2049;

/**
 * One Fargate task definition per mode "task" target (family <deployment>-runner-<target>, the target's image), with
 * the backup EFS access point as its volume and the password of the target's secret in its `secrets`. Each task has
 * its own execution role, which may read only that secret and write only to the runners' log group, and its own task
 * role, which may only mount the access point. Creates nothing without such targets.
 */
export class RunnerTasks extends Construct {
  /** One per target, for the orchestrator's role. */
  readonly grants: readonly RunnerGrant[];
  /** Name of the runner tasks' log group, or undefined when there are none. */
  readonly logGroupName: string | undefined;

  constructor(scope: Construct, id: string, props: RunnerTasksProps) {
    super(scope, id);
    const targets = props.targets.filter((t) => t.mode === 'task');
    if (targets.length === 0) {
      this.grants = [];
      this.logGroupName = undefined;
      return;
    }
    const { account } = props;
    const logGroupName = `/${props.namePrefix}/runner-tasks`;
    const logGroup = new CloudwatchLogGroup(this, 'logs', { name: logGroupName, retentionInDays: props.logRetentionDays });
    this.logGroupName = logGroupName;
    const assume = new DataAwsIamPolicyDocument(this, 'assume', {
      statement: [
        {
          actions: ['sts:AssumeRole'],
          principals: [{ type: 'Service', identifiers: [TASKS_SERVICE] }],
          // Only tasks of this account may take the roles (the confused-deputy guard ECS documents).
          condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [account.accountId] }],
        },
      ],
    });
    this.grants = targets.map((target) => {
      if (target.secretArn === undefined || target.task === undefined) {
        throw new ConfigError(`RunnerTasks: target "${target.name}" needs secretArn and task (the config schema requires them)`);
      }
      return this.runner(target as Target & { secretArn: string; task: NonNullable<Target['task']> }, props, assume.json, { resource: logGroup, name: logGroupName });
    });
    const groups = [...new Set(targets.flatMap((t) => t.task?.securityGroupIds ?? []))].sort();
    groups.forEach((group, i) => {
      new VpcSecurityGroupIngressRule(this, `efs-nfs-in-${i}`, {
        securityGroupId: props.efsMountTargetSecurityGroupId,
        description: `NFS from the ecs-db-backup runner tasks (${group})`,
        ipProtocol: 'tcp',
        fromPort: NFS_PORT,
        toPort: NFS_PORT,
        referencedSecurityGroupId: group,
      });
    });
  }

  private runner(
    target: Target & { secretArn: string; task: NonNullable<Target['task']> },
    props: RunnerTasksProps,
    assumeJson: string,
    logGroup: { resource: CloudwatchLogGroup; name: string },
  ): RunnerGrant {
    const { account } = props;
    const family = runnerFamily(props.namePrefix, target);
    const accessPoint = props.accessPoints.get(target.name);
    if (accessPoint === undefined) throw new ConfigError(`RunnerTasks: target "${target.name}" has no access point of its own`);
    const execution = new IamRole(this, `${target.name}-execution`, {
      name: runnerRoleName(props.namePrefix, target, 'exec'),
      description: `ecs-db-backup runner task of ${target.name}: starts it (its secret, its logs)`,
      assumeRolePolicy: assumeJson,
    });
    const executionPolicy = new DataAwsIamPolicyDocument(this, `${target.name}-execution-permissions`, {
      statement: [
        // ECS reads the password into the container's environment; no other secret.
        { sid: 'ReadOwnSecret', actions: ['secretsmanager:GetSecretValue'], resources: [target.secretArn] },
        { sid: 'WriteRunnerLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.resource.arn}:*`] },
      ],
    });
    new IamRolePolicy(this, `${target.name}-execution-policy`, { name: 'runner-execution', role: execution.id, policy: executionPolicy.json });
    const taskRole = new IamRole(this, `${target.name}-task`, {
      name: runnerRoleName(props.namePrefix, target, 'task'),
      description: `ecs-db-backup runner task of ${target.name}: mounts its target's own access point`,
      assumeRolePolicy: assumeJson,
    });
    const taskPolicy = new DataAwsIamPolicyDocument(this, `${target.name}-task-permissions`, {
      statement: [
        {
          sid: 'EfsThroughAccessPoint',
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
          resources: [props.fileSystemArn],
          condition: [{ test: 'StringEquals', variable: 'elasticfilesystem:AccessPointArn', values: [accessPoint.accessPointArn] }],
        },
      ],
    });
    new IamRolePolicy(this, `${target.name}-task-policy`, { name: 'runner-task', role: taskRole.id, policy: taskPolicy.json });
    new EcsTaskDefinition(this, `${target.name}-definition`, {
      family,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: String(target.task.cpu),
      memory: String(target.task.memoryMb),
      executionRoleArn: execution.arn,
      taskRoleArn: taskRole.arn,
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
      // Plain values only (the log group by its name, not a reference): a JSON string holds no token, so the HCL
      // output is as good as the JSON (cdktf breaks quotes inside a jsonencode of the command). The log group exists first.
      containerDefinitions: JSON.stringify([runnerContainerDefinition(target, { logGroup: logGroup.name, region: account.region })]),
      dependsOn: [logGroup.resource],
      volume: [
        {
          name: RUNNER_VOLUME,
          efsVolumeConfiguration: {
            fileSystemId: props.fileSystemId,
            transitEncryption: 'ENABLED',
            authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
          },
        },
      ],
    });
    return {
      cluster: target.cluster,
      taskDefinitionArns: account.arn('ecs', `task-definition/${family}:*`),
      passRoleArns: [execution.arn, taskRole.arn],
      secretArn: target.secretArn,
    };
  }
}
