import { Construct } from 'constructs';
import { AssetType, TerraformAsset, type ITerraformDependable } from 'cdktf';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { ConfigError } from '../functions/shared/errors.js';
import { stageOrchestratorAsset } from './orchestrator-asset.js';

/** Where the backup access point is mounted in the Lambda (Lambda requires a path under /mnt). */
export const EFS_MOUNT_PATH = '/mnt/backup';
/** Runtime of the orchestrator. */
export const LAMBDA_RUNTIME = 'nodejs22.x';
/** Architecture of the orchestrator (Graviton: cheaper per GB-second). */
export const LAMBDA_ARCHITECTURE = 'arm64';

/** Props of {@link OrchestratorFunction}. */
export interface OrchestratorFunctionProps {
  /** Function name; the log group is /aws/lambda/<name>. */
  readonly functionName: string;
  /** Directory holding the built bundle (`index.mjs`); zipped as a Terraform asset. */
  readonly bundleDir: string;
  /** Data files packaged next to the bundle, by file name (the validated targets). Default: none. */
  readonly dataFiles?: Readonly<Record<string, string>>;
  /** Execution role ARN. */
  readonly roleArn: string;
  /** Subnets of the function. */
  readonly subnetIds: readonly string[];
  /** Security groups of the function: its own first, then any extra ones. */
  readonly securityGroupIds: readonly string[];
  /** ARN of the EFS access point mounted at {@link EFS_MOUNT_PATH}. */
  readonly accessPointArn: string;
  /** Environment of the function. */
  readonly environment: Readonly<Record<string, string>>;
  /** Timeout in seconds. Default: 900. */
  readonly timeoutSeconds?: number;
  /** Memory in MB. Default: 512. */
  readonly memoryMb?: number;
  /** Reserved concurrency: a bound on parallel runs. Default: 2. */
  readonly reservedConcurrency?: number;
  /** Retention of the log group in days. Default: 30. */
  readonly logRetentionDays?: number;
  /**
   * Resources that must exist before the function: the role's policy (Lambda checks the VPC
   * permissions at creation) and the EFS mount targets' NFS rule. Default: none.
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** The orchestrator Lambda: bundle as a zip asset, in the VPC, with the backup EFS mounted, and its log group. */
export class OrchestratorFunction extends Construct {
  /** Function name. */
  readonly functionName: string;
  /** Function ARN. */
  readonly functionArn: string;
  /** Name of the log group. */
  readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: OrchestratorFunctionProps) {
    super(scope, id);
    const reserved = props.reservedConcurrency ?? 2;
    if (reserved < 1) throw new ConfigError(`OrchestratorFunction: reservedConcurrency must be at least 1, got ${reserved}`);
    const logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: props.logRetentionDays ?? 30,
    });
    const asset = new TerraformAsset(this, 'bundle', { path: stageOrchestratorAsset(props.bundleDir, props.dataFiles ?? {}), type: AssetType.ARCHIVE });
    const fn = new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      description: 'ecs-db-backup orchestrator: starts dumps over ECS Exec, uploads verified dumps to S3',
      role: props.roleArn,
      runtime: LAMBDA_RUNTIME,
      architectures: [LAMBDA_ARCHITECTURE],
      handler: 'index.handler',
      filename: asset.path,
      sourceCodeHash: asset.assetHash,
      timeout: props.timeoutSeconds ?? 900,
      memorySize: props.memoryMb ?? 512,
      reservedConcurrentExecutions: reserved,
      vpcConfig: { subnetIds: [...props.subnetIds], securityGroupIds: [...props.securityGroupIds] },
      fileSystemConfig: { arn: props.accessPointArn, localMountPath: EFS_MOUNT_PATH },
      environment: { variables: { ...props.environment } },
      dependsOn: [logGroup, ...(props.dependsOn ?? [])],
    });
    this.functionName = fn.functionName;
    this.functionArn = fn.arn;
    this.logGroupName = logGroup.name;
  }
}
