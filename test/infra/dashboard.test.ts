import { Testing } from 'cdktf';
import { describe, expect, it, vi } from 'vitest';
import { createTelemetry, METRICS, type MetricName } from '../../functions/shared/adapters/telemetry.js';
import { BackupDashboard } from '../../modules/dashboard.js';
import { BASE_CONFIG, onlyResource, resources, synthStack, type SynthJson } from '../helpers/synth.js';

/**
 * The dashboard against what the orchestrator really emits: the metric names, namespace and dimensions
 * come from running the telemetry code with the synthesized Lambda's own environment, not from a list here.
 */

const pg = BASE_CONFIG.targets[0];
const CONFIG = {
  ...BASE_CONFIG,
  targets: [
    { ...pg, name: 'orders-pg', drill: { schedule: '30 3 * * 0' } },
    { ...pg, name: 'cache-1', engine: 'redis', database: undefined },
  ],
};
const NAMES = CONFIG.targets.map((t) => t.name);

type Widget = { type: string; x: number; y: number; width: number; height: number; properties: Record<string, unknown> };

/** The synthesized `${jsonencode({...})}` as JSON: HCL's `=` outside strings becomes `:` (the module keeps quotes out of strings). */
function dashboardBody(synth: SynthJson): { start: string; widgets: Widget[] } {
  const expression = onlyResource(synth, 'aws_cloudwatch_dashboard').dashboard_body as string;
  const inner = /^\$\{jsonencode\(([\s\S]*)\)\}$/.exec(expression)?.[1];
  if (inner === undefined) throw new Error(`not a jsonencode expression: ${expression.slice(0, 80)}`);
  let json = '';
  let inString = false;
  for (const ch of inner) {
    if (ch === '"') inString = !inString;
    json += !inString && ch === '=' ? ':' : ch;
  }
  return JSON.parse(json) as { start: string; widgets: Widget[] };
}

/** The EMF documents the orchestrator's telemetry writes for `target` when it emits every metric it knows. */
function emittedFor(environment: Record<string, string>, target: string): { namespace: string; name: string; dimensions: Record<string, string> }[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
  try {
    createTelemetry(environment).emit(target, Object.fromEntries(Object.keys(METRICS).map((n) => [n, 1])) as Record<MetricName, number>);
  } finally {
    spy.mockRestore();
  }
  return lines.flatMap((line) => {
    const doc = JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
    return doc._aws.CloudWatchMetrics.flatMap((d) =>
      d.Metrics.map((m) => ({ namespace: d.Namespace, name: m.Name, dimensions: Object.fromEntries(d.Dimensions.flat().map((k) => [k, String(doc[k])])) })),
    );
  });
}

/** Every metric a widget charts, as namespace, name and dimensions. */
function charted(widgets: Widget[]): { namespace: string; name: string; dimensions: Record<string, string> }[] {
  return widgets
    .filter((w) => w.type === 'metric')
    .flatMap((w) => (w.properties.metrics as unknown[][]).map((m) => {
      const fields = m.filter((f): f is string => typeof f === 'string');
      const [namespace, name, ...dims] = fields;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!;
      return { namespace: namespace!, name: name!, dimensions };
    }));
}

const key = (m: { namespace: string; name: string; dimensions: Record<string, string> }) =>
  `${m.namespace} ${m.name} ${Object.entries(m.dimensions).sort().map(([k, v]) => `${k}=${v}`).join(',')}`;

describe('dashboard', () => {
  const synth = synthStack(CONFIG);
  const body = dashboardBody(synth);
  const lambdaEnv = (onlyResource(synth, 'aws_lambda_function').environment as { variables: Record<string, string> }).variables;

  it('is one per deployment, named after it, and its name is a stack output', () => {
    expect(onlyResource(synth, 'aws_cloudwatch_dashboard').dashboard_name).toBe('ecs-db-backup');
    expect(synth.output?.dashboard_name?.value).toMatch(/^\$\{aws_cloudwatch_dashboard\.\w+\.dashboard_name\}$/);
    expect(body.start).toBe('-P7D');
  });

  it.each(NAMES)("charts for %s exactly the metrics the orchestrator emits for it, with the same namespace and dimensions", (name) => {
    const mine = charted(body.widgets).filter((m) => m.dimensions.target === name);
    const emitted = emittedFor(lambdaEnv, name);
    expect(emitted.map((m) => m.name).sort()).toEqual(Object.keys(METRICS).sort());
    expect([...new Set(mine.map(key))].sort()).toEqual(emitted.map(key).sort());
  });

  it('charts only configured targets', () => {
    expect([...new Set(charted(body.widgets).map((m) => m.dimensions.target))].sort()).toEqual([...NAMES].sort());
  });

  it.each(NAMES)("shows %s's last success from the orchestrator's log group", (name) => {
    const logs = body.widgets.filter((w) => w.type === 'log' && String(w.properties.query).includes(`target = '${name}'`));
    expect(logs).toHaveLength(1);
    const logGroup = onlyResource(synth, 'aws_cloudwatch_log_group');
    expect(logs[0]!.properties.query).toMatch(/^SOURCE '\$\{aws_cloudwatch_log_group\.\w+\.name\}' \| filter target = '[a-z0-9-]+' and BackupSuccess > 0 \| stats max\(@timestamp\)/);
    expect(logGroup.name).toBe('/aws/lambda/ecs-db-backup-orchestrator');
  });

  it.each(NAMES)("shows the state of every alarm that watches %s in its row", (name) => {
    const alarmNames = resources(synth, 'aws_cloudwatch_metric_alarm')
      .filter((a) => (a.dimensions as Record<string, string> | undefined)?.target === name)
      .map((a) => String(a.alarm_name));
    expect(alarmNames.length).toBeGreaterThan(0);
    const strip = body.widgets.filter((w) => w.type === 'alarm' && w.properties.title === `${name}: alarms`);
    expect(strip).toHaveLength(1);
    const arns = (strip[0]!.properties.alarms as string[]).map((a) => a.replace(/^arn:\$\{data\.aws_partition\.\w+\.partition\}:cloudwatch:eu-west-1:\$\{data\.aws_caller_identity\.\w+\.account_id\}:alarm:/, ''));
    expect(arns.sort()).toEqual(alarmNames.sort());
  });

  it('shows the alarms of the whole deployment at the top', () => {
    const top = body.widgets.find((w) => w.type === 'alarm' && w.y === 0);
    expect(top?.properties.alarms).toEqual([expect.stringMatching(/:alarm:ecs-db-backup-orchestrator-errors$/), expect.stringMatching(/:alarm:ecs-db-backup-orchestrator-dead-letters$/)]);
  });

  it('lays the widgets out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`), `widget ${String(w.properties.title)} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('refuses text that would break the HCL output (cdktf does not escape quotes in jsonencode)', () => {
    const props = { dashboardName: 'd', region: 'eu-west-1', namespace: 'N', service: 's', logGroupName: '/aws/lambda/f', alarms: [] };
    expect(() => Testing.synthScope((scope) => void new BackupDashboard(scope, 'd', { ...props, targets: ['a"b'] }))).toThrow(/must not contain quotes or backslashes: a"b: /);
    expect(() => Testing.synthScope((scope) => void new BackupDashboard(scope, 'd', { ...props, targets: ['ab'] }))).not.toThrow();
  });
});
