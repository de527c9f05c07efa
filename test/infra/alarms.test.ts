import { describe, expect, it } from 'vitest';
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

  it.each(['with-drill', 'no-drill'])('alarms when %s has no successful backup for 26 hours, missing data included', (name) => {
    const alarm = resources(synthStack(CONFIG), 'aws_cloudwatch_metric_alarm').find((a) => a.alarm_name === `ecs-db-backup-${name}-no-backup`);
    expect(alarm).toEqual({
      alarm_name: `ecs-db-backup-${name}-no-backup`,
      alarm_description: `No successful backup of ${name} in 26 hours.`,
      namespace: 'EcsDbBackup',
      metric_name: 'BackupSuccess',
      dimensions: { service: 'ecs-db-backup', target: name },
      statistic: 'Sum',
      period: 3600,
      evaluation_periods: 26,
      datapoints_to_alarm: 26,
      threshold: 1,
      comparison_operator: 'LessThanThreshold',
      treat_missing_data: 'breaching',
      alarm_actions: [TOPIC],
      ok_actions: [TOPIC],
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
    expect(Object.keys(outputs).sort()).toEqual(['access_point_id', 'alarm_topic_arn', 'bucket_name', 'dashboard_name', 'function_arn', 'function_name', 'lambda_security_group_id']);
    for (const [name, output] of Object.entries(outputs)) expect(output.description, name).toMatch(/\.$/);
  });
});
