import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPackagedTargets, TARGETS_FILE_NAME } from '../../functions/shared/config/load.js';
import { STALE_REPORTS_TO_ALARM } from '../../modules/alarms.js';
import { BASE_CONFIG, resources, synthStack, synthStackToDir } from '../helpers/synth.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * `alarms.staleness: "fleet"`: the per-target BackupAgeHours alarms give way to one alarm on the StaleTargets
 * count, and each target's own limit ships with the targets so the Lambda judges each by its schedule.
 */

const TOPIC = expect.stringMatching(/^\$\{aws_sns_topic\.alarms_topic_\w+\.arn\}$/);
const pg = BASE_CONFIG.targets[0];
/** Targets whose schedules allow different ages: daily, weekly, twice a day. */
const TARGETS = [
  { ...pg, name: 'daily' },
  { ...pg, name: 'weekly', schedule: '30 3 * * 0', dumpTimeoutMinutes: 60, drill: { schedule: '0 5 * * 1' } },
  { ...pg, name: 'twice-daily', schedule: '0 6,18 * * *', dumpTimeoutMinutes: 30 },
];
const PER_TARGET = { ...BASE_CONFIG, targets: TARGETS };
const FLEET = { ...PER_TARGET, alarms: { staleness: 'fleet' } };

const alarmNames = (config: unknown) => resources(synthStack(config), 'aws_cloudwatch_metric_alarm').map((a) => String(a.alarm_name)).sort();

/** The packaged targets file of a synthesized config, read as the Lambda reads it. */
function packaged(config: unknown) {
  const stackDir = synthStackToDir(config);
  const fn = (JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { resource: { aws_lambda_function: Record<string, { filename: string }> } }).resource.aws_lambda_function;
  const codeDir = tempDir('unpacked-code');
  execFileSync('unzip', ['-q', join(stackDir, Object.values(fn)[0]!.filename), '-d', codeDir]);
  return readPackagedTargets(join(codeDir, TARGETS_FILE_NAME));
}

describe('fleet staleness alarm (alarms.staleness: "fleet")', () => {
  it('replaces the per-target staleness alarms by one, keeping every other alarm', () => {
    const perTarget = alarmNames(PER_TARGET);
    const fleet = alarmNames(FLEET);
    expect(perTarget.filter((n) => n.endsWith('-no-backup'))).toHaveLength(TARGETS.length);
    expect(fleet.filter((n) => n.endsWith('-no-backup'))).toEqual([]);
    expect(fleet).toEqual([...perTarget.filter((n) => !n.endsWith('-no-backup')), 'ecs-db-backup-stale-targets'].sort());
  });

  it('alarms when any target is stale and when the count is missing (the Lambda stopped or crashed)', () => {
    const alarm = resources(synthStack(FLEET), 'aws_cloudwatch_metric_alarm').find((a) => a.alarm_name === 'ecs-db-backup-stale-targets');
    expect(alarm).toEqual({
      alarm_name: 'ecs-db-backup-stale-targets',
      alarm_description: 'One or more targets\' newest backup is older than its schedule allows, or there is none, or the ecs-db-backup orchestrator stopped reporting: its log line "stale targets" names them and why.',
      namespace: 'EcsDbBackup',
      metric_name: 'StaleTargets',
      dimensions: { service: 'ecs-db-backup' },
      statistic: 'Maximum',
      period: 3600,
      evaluation_periods: STALE_REPORTS_TO_ALARM,
      datapoints_to_alarm: STALE_REPORTS_TO_ALARM,
      threshold: 0,
      comparison_operator: 'GreaterThanThreshold',
      treat_missing_data: 'breaching',
      alarm_actions: [TOPIC],
      ok_actions: [TOPIC],
    });
  });

  it("shows the fleet alarm's state on the dashboard with the deployment's alarms, in no target's row", () => {
    const body = String(resources(synthStack(FLEET), 'aws_cloudwatch_dashboard')[0]!.dashboard_body);
    // Each alarm strip of the jsonencode'd body: its title and its alarm ARNs.
    const strips = [...body.matchAll(/"title" = "([^"]+)", "alarms" = \[([^\]]*)\]/g)].map((m) => [m[1], m[2]] as const);
    expect(strips.length).toBeGreaterThan(1);
    expect(strips.filter(([, alarms]) => alarms!.includes(':alarm:ecs-db-backup-stale-targets')).map(([title]) => title)).toEqual(['orchestrator alarms']);
  });

  it("packages each target's own limit, the threshold its per-target alarm would have", () => {
    const thresholds = Object.fromEntries(
      resources(synthStack(PER_TARGET), 'aws_cloudwatch_metric_alarm')
        .filter((a) => String(a.alarm_name).endsWith('-no-backup'))
        .map((a) => [(a.dimensions as { target: string }).target, a.threshold]),
    );
    expect(thresholds).toEqual({ daily: 24 + 2 + 3, weekly: 168 + 2 + 1, 'twice-daily': 12 + 2 + 1 });
    expect(packaged(FLEET).ageLimitHours).toEqual(thresholds);
  });

  it('packages no limits with per-target alarms (the Lambda then publishes no StaleTargets)', () => {
    expect(packaged(PER_TARGET).ageLimitHours).toBeUndefined();
  });
});
