import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import type { AccountContext } from './account-context.js';

/** The AWS Backup job events the rule matches, and the states that mean the job did not do its work. */
export const BACKUP_JOB_FAILURE_PATTERN = {
  source: ['aws.backup'],
  'detail-type': ['Backup Job State Change', 'Copy Job State Change', 'Restore Job State Change'],
  detail: { state: ['FAILED', 'ABORTED', 'EXPIRED'] },
} as const;

/** The fields of the event the notification names. */
export const BACKUP_JOB_INPUT_PATHS = {
  job: '$.detail-type',
  state: '$.detail.state',
  resource: '$.detail.resourceArn',
  resourceType: '$.detail.resourceType',
  reason: '$.detail.statusMessage',
  account: '$.account',
  region: '$.region',
  time: '$.time',
} as const;

/** The notification: a JSON string, so the e-mail is one readable sentence. */
export const BACKUP_JOB_INPUT_TEMPLATE =
  '"AWS Backup: <job> <state> for <resource> (<resourceType>) in account <account>, region <region>, at <time>. Reason: <reason>"';

/** The actions AWS grants a topic's owning account by default; a topic policy replaces that default, so it restates them. */
const OWNER_TOPIC_ACTIONS = [
  'SNS:GetTopicAttributes',
  'SNS:SetTopicAttributes',
  'SNS:AddPermission',
  'SNS:RemovePermission',
  'SNS:DeleteTopic',
  'SNS:Subscribe',
  'SNS:ListSubscriptionsByTopic',
  'SNS:Publish',
];

/** Props of {@link BackupJobAlarms}. */
export interface BackupJobAlarmsProps {
  /** Name prefix of the rule. */
  readonly namePrefix: string;
  /** ARN of the alarm topic. */
  readonly topicArn: string;
  /** Account of the topic. */
  readonly account: AccountContext;
}

/**
 * An EventBridge rule on AWS Backup jobs (backup, copy, restore) that failed, were aborted or expired,
 * publishing a sentence naming the resource and the reason to the alarm topic, and the topic policy
 * that lets EventBridge publish for this rule only.
 */
export class BackupJobAlarms extends Construct {
  /** ARN of the rule. */
  readonly ruleArn: string;

  constructor(scope: Construct, id: string, props: BackupJobAlarmsProps) {
    super(scope, id);
    const rule = new CloudwatchEventRule(this, 'rule', {
      name: `${props.namePrefix}-backup-job-failed`,
      description: 'An AWS Backup backup, copy or restore job failed, was aborted or expired.',
      eventPattern: Fn.jsonencode(BACKUP_JOB_FAILURE_PATTERN),
    });
    this.ruleArn = rule.arn;
    new CloudwatchEventTarget(this, 'target', {
      rule: rule.name,
      arn: props.topicArn,
      inputTransformer: { inputPaths: { ...BACKUP_JOB_INPUT_PATHS }, inputTemplate: BACKUP_JOB_INPUT_TEMPLATE },
    });
    const policy = new DataAwsIamPolicyDocument(this, 'topic-policy', {
      statement: [
        {
          sid: 'OwnerAccount',
          principals: [{ type: 'AWS', identifiers: ['*'] }],
          actions: OWNER_TOPIC_ACTIONS,
          resources: [props.topicArn],
          condition: [{ test: 'StringEquals', variable: 'AWS:SourceOwner', values: [props.account.accountId] }],
        },
        {
          sid: 'BackupJobFailures',
          principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
          actions: ['sns:Publish'],
          resources: [props.topicArn],
          condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: [rule.arn] }],
        },
      ],
    });
    new SnsTopicPolicy(this, 'topic', { arn: props.topicArn, policy: policy.json });
  }
}
