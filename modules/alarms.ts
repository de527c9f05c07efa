import { Construct } from 'constructs';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';

/** Namespace of the orchestrator's metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'EcsDbBackup';
/** Hours without a successful backup before a target's alarm fires. */
export const NO_BACKUP_ALARM_HOURS = 26;

/** Alarm settings that fire on one or more failures counted in an hour, and stay OK while nothing is reported. */
const ANY_FAILURE_IN_AN_HOUR = {
  statistic: 'Sum',
  period: 3600,
  evaluationPeriods: 1,
  threshold: 1,
  comparisonOperator: 'GreaterThanOrEqualToThreshold',
  treatMissingData: 'notBreaching',
} as const;

/** One target the alarms watch. */
export interface AlarmTarget {
  /** Target name (the `target` metric dimension). */
  readonly name: string;
  /** Whether restore drills run for it (adds a drill failure alarm). */
  readonly drill: boolean;
}

/** Props of {@link BackupAlarms}. */
export interface BackupAlarmsProps {
  /** Name prefix of the topic and alarms. */
  readonly namePrefix: string;
  /** The `service` dimension of the orchestrator's metrics (its POWERTOOLS_SERVICE_NAME: the deployment name). */
  readonly service: string;
  /** Name of the orchestrator function. */
  readonly functionName: string;
  /** Targets to watch. */
  readonly targets: readonly AlarmTarget[];
  /** E-mail subscribed to the topic (confirmation needed). Default: none. */
  readonly alarmEmail?: string;
}

/**
 * The alarm topic and alarms: orchestrator errors, and per target "no successful backup in 26
 * hours" (missing data breaches, so a Lambda that stopped running alarms too) and drill failures.
 */
export class BackupAlarms extends Construct {
  /** ARN of the alarm topic. */
  readonly topicArn: string;

  constructor(scope: Construct, id: string, props: BackupAlarmsProps) {
    super(scope, id);
    const topic = new SnsTopic(this, 'topic', { name: `${props.namePrefix}-alarms` });
    this.topicArn = topic.arn;
    if (props.alarmEmail !== undefined) {
      new SnsTopicSubscription(this, 'email', { topicArn: topic.arn, protocol: 'email', endpoint: props.alarmEmail });
    }
    const actions = { alarmActions: [topic.arn], okActions: [topic.arn] };

    new CloudwatchMetricAlarm(this, 'lambda-errors', {
      alarmName: `${props.namePrefix}-orchestrator-errors`,
      alarmDescription: `The ${props.namePrefix} orchestrator Lambda failed (crash or timeout); see its log group.`,
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensions: { FunctionName: props.functionName },
      ...ANY_FAILURE_IN_AN_HOUR,
      ...actions,
    });
    for (const target of props.targets) {
      const dimensions = { service: props.service, target: target.name };
      new CloudwatchMetricAlarm(this, `no-backup-${target.name}`, {
        alarmName: `${props.namePrefix}-${target.name}-no-backup`,
        alarmDescription: `No successful backup of ${target.name} in ${NO_BACKUP_ALARM_HOURS} hours.`,
        namespace: METRICS_NAMESPACE,
        metricName: 'BackupSuccess',
        dimensions,
        statistic: 'Sum',
        period: 3600,
        evaluationPeriods: NO_BACKUP_ALARM_HOURS,
        datapointsToAlarm: NO_BACKUP_ALARM_HOURS,
        threshold: 1,
        comparisonOperator: 'LessThanThreshold',
        treatMissingData: 'breaching',
        ...actions,
      });
      if (target.drill) {
        new CloudwatchMetricAlarm(this, `drill-failure-${target.name}`, {
          alarmName: `${props.namePrefix}-${target.name}-restore-drill-failed`,
          alarmDescription: `The restore drill of ${target.name} failed.`,
          namespace: METRICS_NAMESPACE,
          metricName: 'RestoreDrillFailure',
          dimensions,
          ...ANY_FAILURE_IN_AN_HOUR,
          ...actions,
        });
      }
    }
  }
}
