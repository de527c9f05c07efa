import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { EfsFileSystemPolicy } from '@cdktf/provider-aws/lib/efs-file-system-policy/index.js';
import type { AccountContext } from './account-context.js';

/** What an NFS client asks of EFS: mount, write, act as root. */
export const EFS_CLIENT_ACTIONS = ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'] as const;

/** One target's access point and, when configured, the IAM role of its tasks. */
export interface TargetMount {
  readonly accessPointArn: string;
  readonly taskRoleName?: string | undefined;
}

/** Props of {@link BackupFileSystemPolicy}. */
export interface BackupFileSystemPolicyProps {
  /** The backup file system. */
  readonly fileSystemId: string;
  /** Its ARN. */
  readonly fileSystemArn: string;
  /** The orchestrator's access point (root over every target's directory) and execution role. */
  readonly orchestrator: { readonly accessPointArn: string; readonly roleArn: string };
  /** Every target's access point and task role. */
  readonly targets: readonly TargetMount[];
  /** Account and partition, for the task roles' ARNs. */
  readonly account: AccountContext;
  /** Attach the policy to the file system (it replaces the one it has). Default: false (the document is still built, for the user to merge). */
  readonly manage?: boolean;
}

const anyone = [{ type: '*', identifiers: ['*'] }];

/**
 * The backup file system's policy: TLS only (aws:SecureTransport), every client operation only through one of the
 * backup access points, the orchestrator's access point (root over every target) only for the orchestrator's role,
 * and each target's access point only for its task role. What it cannot enforce: a target without taskRoleName
 * (any client that mounts that access point is let in: nothing names its tasks), and anything a task definition does
 * without IAM authorization on a target with a role is refused rather than narrowed. Task definitions are the
 * user's: which access point a task mounts, transit encryption and `iam: ENABLED` are checked by the exec-checker.
 * Role ARNs are matched with and without an IAM path (a role name alone does not say its path).
 */
export class BackupFileSystemPolicy extends Construct {
  /** The policy document (JSON), an output for users who merge it into their own file-system policy. */
  readonly json: string;

  constructor(scope: Construct, id: string, props: BackupFileSystemPolicyProps) {
    super(scope, id);
    const fs = [props.fileSystemArn];
    const allAccessPoints = [props.orchestrator.accessPointArn, ...props.targets.map((t) => t.accessPointArn)];
    const roleArns = (name: string) => [`arn:${props.account.partition}:iam::${props.account.accountId}:role/${name}`, `arn:${props.account.partition}:iam::${props.account.accountId}:role/*/${name}`];
    const through = (accessPointArn: string) => ({ test: 'ArnEquals', variable: 'elasticfilesystem:AccessPointArn', values: [accessPointArn] });
    const statement: DataAwsIamPolicyDocumentStatement[] = [
      { sid: 'DenyInsecureTransport', effect: 'Deny', principals: anyone, actions: ['*'], resources: fs, condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }] },
      {
        sid: 'DenyOutsideBackupAccessPoints',
        effect: 'Deny',
        principals: anyone,
        actions: [...EFS_CLIENT_ACTIONS],
        resources: fs,
        // A mount without an access point has no AccessPointArn: a Not operator on a missing key matches, so it is denied too.
        condition: [{ test: 'ArnNotEquals', variable: 'elasticfilesystem:AccessPointArn', values: allAccessPoints }],
      },
      {
        sid: 'DenyOrchestratorAccessPointToOthers',
        effect: 'Deny',
        principals: anyone,
        actions: [...EFS_CLIENT_ACTIONS],
        resources: fs,
        condition: [through(props.orchestrator.accessPointArn), { test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: [props.orchestrator.roleArn] }],
      },
      {
        sid: 'AllowOrchestrator',
        principals: [{ type: 'AWS', identifiers: [props.orchestrator.roleArn] }],
        actions: [...EFS_CLIENT_ACTIONS],
        resources: fs,
        condition: [through(props.orchestrator.accessPointArn)],
      },
      ...props.targets.flatMap((t, i) => targetStatements(i, fs, through(t.accessPointArn), t.taskRoleName === undefined ? null : roleArns(t.taskRoleName))),
    ];
    const document = new DataAwsIamPolicyDocument(this, 'document', { statement });
    this.json = document.json;
    if (props.manage === true) {
      new EfsFileSystemPolicy(this, 'policy', { fileSystemId: props.fileSystemId, policy: document.json });
    }
  }
}

/** A target's access point: mount and write (never as root), only by its task role when it has one. Sids by index: names may differ only in "-"/"_". */
function targetStatements(
  index: number,
  fs: string[],
  through: { test: string; variable: string; values: string[] },
  roles: string[] | null,
): DataAwsIamPolicyDocumentStatement[] {
  const mountAndWrite = ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'];
  if (roles === null) return [{ sid: `AllowTarget${index}`, principals: anyone, actions: mountAndWrite, resources: fs, condition: [through] }];
  return [
    {
      sid: `DenyTarget${index}AccessPointToOthers`,
      effect: 'Deny',
      principals: anyone,
      actions: [...EFS_CLIENT_ACTIONS],
      resources: fs,
      condition: [through, { test: 'ArnNotLike', variable: 'aws:PrincipalArn', values: roles }],
    },
    { sid: `AllowTarget${index}`, principals: anyone, actions: mountAndWrite, resources: fs, condition: [through, { test: 'ArnLike', variable: 'aws:PrincipalArn', values: roles }] },
  ];
}
