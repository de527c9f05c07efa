import { Construct } from 'constructs';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';

/** What the SSM agent in a task needs for ECS Exec; AWS supports no resource scoping for them. */
export const SSMMESSAGES_ACTIONS = [
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
] as const;

/** Props of {@link TaskRoleExecPolicy}. */
export interface TaskRoleExecPolicyProps {
  /** Name of the managed policy. */
  readonly policyName: string;
  /** Existing IAM roles of the database tasks; each gets the policy attached. Default: none. */
  readonly taskRoleNames?: readonly string[];
  /** ECS Exec KMS keys of those tasks' clusters: the agent decrypts each session's data key. Default: none. */
  readonly execKmsKeyArns?: readonly string[];
}

/**
 * The `ssmmessages` policy ECS Exec needs in the database tasks (and kms:Decrypt on the exec keys of
 * KMS-encrypted clusters), attached to their task roles.
 * Nothing is created when no task role is named (the roles already allow ECS Exec).
 */
export class TaskRoleExecPolicy extends Construct {
  /** ARN of the policy, or undefined when no role needed it. */
  readonly policyArn: string | undefined;

  constructor(scope: Construct, id: string, props: TaskRoleExecPolicyProps) {
    super(scope, id);
    const roles = [...new Set(props.taskRoleNames ?? [])].sort();
    if (roles.length === 0) {
      this.policyArn = undefined;
      return;
    }
    const execKeys = [...new Set(props.execKmsKeyArns ?? [])].sort();
    const document = new DataAwsIamPolicyDocument(this, 'document', {
      statement: [
        { sid: 'EcsExecDataChannel', actions: [...SSMMESSAGES_ACTIONS], resources: ['*'] },
        ...(execKeys.length === 0 ? [] : [{ sid: 'EcsExecSessionKeys', actions: ['kms:Decrypt'], resources: execKeys }]),
      ],
    });
    const policy = new IamPolicy(this, 'policy', {
      name: props.policyName,
      description: 'ECS Exec (SSM data channel) for databases backed up by ecs-db-backup',
      policy: document.json,
    });
    this.policyArn = policy.arn;
    for (const role of roles) {
      new IamRolePolicyAttachment(this, `attach-${role}`, { role, policyArn: policy.arn });
    }
  }
}
