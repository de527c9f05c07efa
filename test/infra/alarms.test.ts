import { describe, expect, it } from 'vitest';
import { MAX_EVALUATION_SECONDS, STALE_REPORTS_TO_ALARM } from '../../modules/alarms.js';
import { BASE_CONFIG, onlyResource, resources, synthStack } from '../helpers/synth.js';

const TOPIC = expect.stringMatching(/^\$\{aws_sns_topic\.alarms_topic_\w+\.arn\}$/);
const pg = BASE_CONFIG.targets[0];
const CONFIG = {
  ...BASE_CONFIG,
  targets: [
    { ...pg, name: 'with-drill', drill: { schedule: '30 3 * * 0' } },
    { ...pg, name: 'no-drill' },
  ],
};

describe('alarms', () => {
  it('subscribes the alarm e-mail only when configured', () => {
    expect(resources(synthStack(), 'aws_sns_topic_subscription')).toEqual([]);
    expect(onlyResource(synthStack({ ...BASE_CONFIG, alarmEmail: 'ops@example.com' }), 'aws_sns_topic_subscription')).toMatchObject({
      protocol: 'email',
      endpoint: 'ops@example.com',
      topic_arn: TOPIC,
    });
  });

  it('alarms on any orchestrator error', () => {
    const alarm = resources(synthStack(), 'aws_cloudwatch_metric_alarm').find((a) => a.namespace === 'AWS/Lambda');
    expect(alarm).toMatchObject({
      metric_name: 'Errors',
      dimensions: { FunctionName: expect.stringMatching(/orchestrator_function_\w+\.function_name/) },
      statistic: 'Sum',
      threshold: 1,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      alarm_actions: [TOPIC],
    });
  });

  it.each([
    { name: 'daily', schedule: '0 0 * * *', timeZone: 'UTC', dumpTimeoutMinutes: 180, limit: 24 + 2 + 3 },
    { name: 'daily-berlin', schedule: '0 0 * * *', timeZone: 'Europe/Berlin', dumpTimeoutMinutes: 180, limit: 25 + 2 + 3 },
    { name: 'weekly', schedule: '30 3 * * 0', timeZone: 'UTC', dumpTimeoutMinutes: 60, limit: 168 + 2 + 1 },
    { name: 'twice-daily', schedule: '0 6,18 * * *', timeZone: 'UTC', dumpTimeoutMinutes: 30, limit: 12 + 2 + 1 },
  ])('alarms when the newest backup of the $name target is older than its schedule allows ($limit h), missing data included', ({ name, schedule, timeZone, dumpTimeoutMinutes, limit }) => {
    const synth = synthStack({ ...BASE_CONFIG, targets: [{ ...pg, name, schedule, timeZone, dumpTimeoutMinutes }] });
    const alarm = resources(synth, 'aws_cloudwatch_metric_alarm').find((a) => a.alarm_name === `ecs-db-backup-${name}-no-backup`);
    expect(alarm).toEqual({
      alarm_name: `ecs-db-backup-${name}-no-backup`,
      alarm_description: `The newest backup of ${name} is over ${limit} hours old (its schedule's longest gap plus margins), there is none, or the orchestrator stopped reporting.`,
      namespace: 'EcsDbBackup',
      metric_name: 'BackupAgeHours',
      dimensions: { service: 'ecs-db-backup', target: name },
      statistic: 'Maximum',
      period: 3600,
      evaluation_periods: STALE_REPORTS_TO_ALARM,
      datapoints_to_alarm: STALE_REPORTS_TO_ALARM,
      threshold: limit,
      comparison_operator: 'GreaterThanThreshold',
      treat_missing_data: 'breaching',
      alarm_actions: [TOPIC],
      ok_actions: [TOPIC],
    });
  });

  it("keeps every alarm within CloudWatch's evaluation limits (period × evaluation periods ≤ 7 days, ≤ 1 day under an hour)", () => {
    for (const alarm of resources(synthStack(CONFIG), 'aws_cloudwatch_metric_alarm')) {
      const window = Number(alarm.period) * Number(alarm.evaluation_periods);
      expect(window, String(alarm.alarm_name)).toBeLessThanOrEqual(Number(alarm.period) < 3600 ? 86_400 : MAX_EVALUATION_SECONDS);
    }
  });

  it.each(['with-drill', 'no-drill'])('alarms when a backup of %s shrank, staying OK while nothing is reported', (name) => {
    const alarm = resources(synthStack(CONFIG), 'aws_cloudwatch_metric_alarm').find((a) => a.alarm_name === `ecs-db-backup-${name}-backup-shrank`);
    expect(alarm).toMatchObject({
      namespace: 'EcsDbBackup',
      metric_name: 'BackupShrank',
      dimensions: { service: 'ecs-db-backup', target: name },
      statistic: 'Sum',
      period: 3600,
      evaluation_periods: 1,
      threshold: 1,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      treat_missing_data: 'notBreaching',
      alarm_actions: [TOPIC],
    });
  });

  it('alarms on restore drill failures only for targets with a drill', () => {
    const drills = resources(synthStack(CONFIG), 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'RestoreDrillFailure');
    expect(drills).toEqual([
      expect.objectContaining({
        namespace: 'EcsDbBackup',
        dimensions: { service: 'ecs-db-backup', target: 'with-drill' },
        statistic: 'Sum',
        evaluation_periods: 1,
        threshold: 1,
        comparison_operator: 'GreaterThanOrEqualToThreshold',
        treat_missing_data: 'notBreaching',
      }),
    ]);
  });

  it('describes every output', () => {
    const outputs = synthStack().output ?? {};
    expect(Object.keys(outputs).sort()).toEqual(['alarm_topic_arn', 'bucket_name', 'dashboard_name', 'efs_file_system_policy', 'function_arn', 'function_name', 'lambda_security_group_id', 'orchestrator_access_point_id', 'target_access_point_ids']);
    for (const [name, output] of Object.entries(outputs)) expect(output.description, name).toMatch(/\.$/);
  });
});
