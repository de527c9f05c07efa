import { Construct } from 'constructs';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import type { StalenessAlarm } from '../functions/shared/config/schema.js';
import { ConfigError } from '../functions/shared/errors.js';

/** Namespace of the orchestrator's metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'EcsDbBackup';
/**
 * Hourly BackupAgeHours reports (or their absence) in a row before a target's staleness alarm fires: two, so one
 * invocation that reports late (its period then shows none) is no alarm, and an orchestrator that stopped is one.
 */
export const STALE_REPORTS_TO_ALARM = 2;
/**
 * PutMetricAlarm's limit on period × evaluation periods for periods of an hour or more (7 days). A window alarm
 * on BackupSuccess could not cover a weekly schedule's gap plus a margin; the age metric needs no window.
 */
export const MAX_EVALUATION_SECONDS = 7 * 24 * 3600;

/** Alarm settings that fire on one or more failures counted in an hour, and stay OK while nothing is reported. */
const ANY_FAILURE_IN_AN_HOUR = {
  statistic: 'Sum',
  period: 3600,
  evaluationPeriods: 1,
  threshold: 1,
  comparisonOperator: 'GreaterThanOrEqualToThreshold',
  treatMissingData: 'notBreaching',
} as const;

/** The staleness alarms' evaluation: hourly, like the reports. */
const STALE_WINDOW = { period: 3600, evaluationPeriods: STALE_REPORTS_TO_ALARM, datapointsToAlarm: STALE_REPORTS_TO_ALARM } as const;

/** Where an alarm notifies: the topic, on ALARM and on OK. */
interface AlarmActions {
  readonly alarmActions: string[];
  readonly okActions: string[];
}

/** One target the alarms watch. */
export interface AlarmTarget {
  /** Target name (the `target` metric dimension). */
  readonly name: string;
  /** Whether restore drills run for it (adds a drill failure alarm). */
  readonly drill: boolean;
  /** How old its newest backup may get (hours) before it is stale: backupAgeLimitHours of core/schedule.ts. */
  readonly backupAgeLimitHours: number;
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
  /** Name of the orchestrator's dead-letter queue: alarms while it holds a message. Default: none, no alarm. */
  readonly deadLetterQueueName?: string;
  /** One staleness alarm per target, or one for the fleet on StaleTargets (see {@link FLEET_STALENESS}). Default: "per-target". */
  readonly staleness?: StalenessAlarm;
}

/**
 * `alarms.staleness: "fleet"`: one alarm on the StaleTargets count the orchestrator publishes after every
 * scheduled run (functions/orchestrator/backup/stale-targets.ts), instead of one BackupAgeHours alarm per target.
 * Why a published count and not metric math over the targets' BackupAgeHours: an alarm's math may reference
 * at most 10 metrics (a hard limit), so 500 targets would need 50 alarms; CloudWatch bills an alarm per metric
 * it evaluates, so those would cost what 500 alarms cost; and a target that reports nothing (no backup yet, or
 * not looked at) drops out of a MAX over the others instead of alarming. A Metrics Insights query has the same
 * blind spot, keeps 3 hours of data and one threshold for all schedules. The count is judged by each target's
 * own limit in the Lambda (the limits ship with the targets), and missing data breaches: a Lambda that stopped
 * running, or crashed before publishing, alarms within two hours as the per-target alarms do.
 */
export const FLEET_STALENESS = {
  metricName: 'StaleTargets',
  statistic: 'Maximum',
  threshold: 0,
  comparisonOperator: 'GreaterThanThreshold',
  treatMissingData: 'breaching',
} as const;

/**
 * The alarm topic and alarms: orchestrator errors, and per target "the newest backup is older than its
 * schedule allows" (BackupAgeHours; missing data breaches, so a Lambda that stopped running, or a target
 * with no backup at all, alarms too; or one such alarm for the fleet, see {@link FLEET_STALENESS}),
 * backups that shrank, and drill failures.
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
    const actions: AlarmActions = { alarmActions: [topic.arn], okActions: [topic.arn] };

    new CloudwatchMetricAlarm(this, 'lambda-errors', {
      alarmName: `${props.namePrefix}-orchestrator-errors`,
      alarmDescription: `The ${props.namePrefix} orchestrator Lambda failed (crash or timeout); see its log group.`,
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensions: { FunctionName: props.functionName },
      ...ANY_FAILURE_IN_AN_HOUR,
      ...actions,
    });
    if (props.deadLetterQueueName !== undefined) {
      new CloudwatchMetricAlarm(this, 'dead-letter-queue', {
        alarmName: `${props.namePrefix}-orchestrator-dead-letters`,
        alarmDescription: `An invocation of the ${props.namePrefix} orchestrator failed after Lambda's retries; its event and error are in the SQS queue ${props.deadLetterQueueName} (kept 14 days).`,
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: props.deadLetterQueueName },
        // SQS reports every 5 minutes, and stops for a queue idle for 6 hours: missing data is an empty queue.
        statistic: 'Maximum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        ...actions,
      });
    }
    const perTarget = (props.staleness ?? 'per-target') === 'per-target';
    if (!perTarget) {
      new CloudwatchMetricAlarm(this, 'stale-targets', {
        alarmName: `${props.namePrefix}-stale-targets`,
        alarmDescription: `One or more targets' newest backup is older than its schedule allows, or there is none, or the ${props.namePrefix} orchestrator stopped reporting: its log line "stale targets" names them and why.`,
        namespace: METRICS_NAMESPACE,
        dimensions: { service: props.service },
        ...FLEET_STALENESS,
        ...STALE_WINDOW,
        ...actions,
      });
    }
    for (const target of props.targets) this.watchTarget(props, target, perTarget, actions);
  }

  /** A target's alarms: staleness (per-target mode), shrink, and drill failures when it has a drill. */
  private watchTarget(props: BackupAlarmsProps, target: AlarmTarget, perTarget: boolean, actions: AlarmActions): void {
    const dimensions = { service: props.service, target: target.name };
    const limit = target.backupAgeLimitHours;
    if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`BackupAlarms: backupAgeLimitHours of ${target.name} must be a whole number of hours ≥ 1, got ${limit}`);
    if (perTarget) {
      new CloudwatchMetricAlarm(this, `no-backup-${target.name}`, {
        alarmName: `${props.namePrefix}-${target.name}-no-backup`,
        alarmDescription: `The newest backup of ${target.name} is over ${limit} hours old (its schedule's longest gap plus margins), there is none, or the orchestrator stopped reporting.`,
        namespace: METRICS_NAMESPACE,
        metricName: 'BackupAgeHours',
        dimensions,
        statistic: 'Maximum',
        ...STALE_WINDOW,
        threshold: limit,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'breaching',
        ...actions,
      });
    }
    new CloudwatchMetricAlarm(this, `backup-shrank-${target.name}`, {
      alarmName: `${props.namePrefix}-${target.name}-backup-shrank`,
      alarmDescription: `A backup of ${target.name} is much smaller than the one before it (see the target's shrink rules); it was uploaded: the log line "backup shrank" names the tables.`,
      namespace: METRICS_NAMESPACE,
      metricName: 'BackupShrank',
      dimensions,
      ...ANY_FAILURE_IN_AN_HOUR,
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
