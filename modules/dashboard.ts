import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import type { MetricName } from '../functions/shared/adapters/telemetry.js';
import { BackupError } from '../functions/shared/errors.js';

/** One alarm the dashboard shows, with the target it watches (null: the whole deployment). */
export interface DashboardAlarm {
  readonly arn: string;
  readonly target: string | null;
}

/** Props of {@link BackupDashboard}. */
export interface BackupDashboardProps {
  /** Name of the dashboard (letters, digits, "-" and "_"). */
  readonly dashboardName: string;
  /** Region of the metrics and the log group. */
  readonly region: string;
  /** Namespace of the orchestrator's metrics (its POWERTOOLS_METRICS_NAMESPACE). */
  readonly namespace: string;
  /** The `service` dimension of its metrics (its POWERTOOLS_SERVICE_NAME). */
  readonly service: string;
  /** Target names, one row each (the `target` dimension). */
  readonly targets: readonly string[];
  /** The orchestrator's log group (its EMF lines say when each target last succeeded). */
  readonly logGroupName: string;
  /** Alarms whose states the dashboard shows: per target in its row, the others at the top. */
  readonly alarms: readonly DashboardAlarm[];
}

/** Width of the dashboard grid (CloudWatch's). */
const GRID_WIDTH = 24;
/** Height of a target's charts, and of its alarm strip. */
const CHART_HEIGHT = 6;
const ALARM_HEIGHT = 2;
/** Seconds per data point of the charts: the orchestrator runs hourly. */
const PERIOD = 3600;

/** The charts of every target, each listing the metrics the orchestrator emits for it (telemetry.ts). */
export const TARGET_CHARTS: readonly { title: string; metrics: readonly MetricName[]; stat: 'Maximum' | 'Sum'; view: 'timeSeries' | 'bar' }[] = [
  { title: 'bytes per backup', metrics: ['BackupBytes'], stat: 'Maximum', view: 'timeSeries' },
  { title: 'dump and upload seconds', metrics: ['DumpSeconds', 'UploadSeconds'], stat: 'Maximum', view: 'timeSeries' },
  { title: 'age of the newest backup (hours; its alarm: no-backup, or stale-targets for the fleet)', metrics: ['BackupAgeHours'], stat: 'Maximum', view: 'timeSeries' },
  { title: 'backups, failures and drills', metrics: ['BackupSuccess', 'BackupFailure', 'BackupShrank', 'RestoreDrillSuccess', 'RestoreDrillFailure', 'BucketVersioningDisabled'], stat: 'Sum', view: 'bar' },
];

type Widget = Record<string, unknown>;

function lastSuccessWidget(props: BackupDashboardProps, target: string, y: number, width: number): Widget {
  // Logs Insights over the EMF lines: the newest success, its size and durations. Single quotes only: see hclSafe.
  const query = [
    `SOURCE '${props.logGroupName}'`,
    `filter target = '${target}' and BackupSuccess > 0`,
    'stats max(@timestamp) as lastSuccess, latest(BackupBytes) as bytes, latest(DumpSeconds) as dumpSeconds, latest(UploadSeconds) as uploadSeconds',
  ].join(' | ');
  return { type: 'log', x: 0, y, width, height: CHART_HEIGHT, properties: { title: `${target}: last successful backup (time since: npm run status)`, region: props.region, query, view: 'table' } };
}

function targetRow(props: BackupDashboardProps, target: string, y: number): Widget[] {
  const width = GRID_WIDTH / (TARGET_CHARTS.length + 1);
  const charts = TARGET_CHARTS.map((chart, i) => ({
    type: 'metric',
    x: width * (i + 1),
    y,
    width,
    height: CHART_HEIGHT,
    properties: {
      title: `${target}: ${chart.title}`,
      region: props.region,
      view: chart.view,
      stat: chart.stat,
      period: PERIOD,
      metrics: chart.metrics.map((name) => [props.namespace, name, 'service', props.service, 'target', target, { label: name }]),
    },
  }));
  const alarms = props.alarms.filter((a) => a.target === target).map((a) => a.arn);
  const strip = alarms.length
    ? [{ type: 'alarm', x: 0, y: y + CHART_HEIGHT, width: GRID_WIDTH, height: ALARM_HEIGHT, properties: { title: `${target}: alarms`, alarms } }]
    : [];
  return [lastSuccessWidget(props, target, y, width), ...charts, ...strip];
}

/** The dashboard body: a header with the deployment's alarms, then one row of charts and alarm states per target. */
export function dashboardBody(props: BackupDashboardProps): { start: string; widgets: Widget[] } {
  const header = `## ecs-db-backup: per target, the last success, bytes per backup, dump and upload seconds, backups, failures and drills (sums per hour), and the states of its alarms. \`npm run status\` shows the same from S3 and the orchestrator.`;
  const global = props.alarms.filter((a) => a.target === null).map((a) => a.arn);
  const widgets: Widget[] = [
    { type: 'text', x: 0, y: 0, width: global.length ? 12 : GRID_WIDTH, height: ALARM_HEIGHT + 1, properties: { markdown: header } },
    ...(global.length ? [{ type: 'alarm', x: 12, y: 0, width: 12, height: ALARM_HEIGHT + 1, properties: { title: 'orchestrator alarms', alarms: global } }] : []),
  ];
  let y = ALARM_HEIGHT + 1;
  for (const target of props.targets) {
    const row = targetRow(props, target, y);
    widgets.push(...row);
    y += CHART_HEIGHT + (row.some((w) => w.type === 'alarm') ? ALARM_HEIGHT : 0);
  }
  return { start: '-P7D', widgets };
}

/**
 * cdktf writes Fn.jsonencode's strings into HCL without escaping quotes or backslashes, so such a
 * string would break the HCL output (and the JSON one would differ from it): refuse them here.
 */
function hclSafe<T>(value: T): T {
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && /["\\]/.test(v)) throw new BackupError(`dashboard text must not contain quotes or backslashes: ${v}`);
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return value;
}

/** The deployment's CloudWatch dashboard: per target, its backups over time and its alarms' states. */
export class BackupDashboard extends Construct {
  /** Name of the dashboard. */
  readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: BackupDashboardProps) {
    super(scope, id);
    // jsonencode, not JSON.stringify: the body holds tokens (alarm ARNs, the log group), see DESIGN.md on HCL.
    const dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: props.dashboardName,
      dashboardBody: Fn.jsonencode(hclSafe(dashboardBody(props))),
    });
    this.dashboardName = dashboard.dashboardName;
  }
}
