import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, resources, synthStack, type SynthJson } from '../helpers/synth.js';

/**
 * Attributes that hold the resource's own name in its account and region. Matched against every
 * key at any depth of every resource, so a resource a later change adds is checked without editing
 * this test. Not names: metric names and namespaces, VPC endpoint service names (AWS's, not ours).
 */
const NAME_KEY = /^(?:name|name_prefix|Name|bucket|[a-z_]+_name)$/;
const NOT_A_NAME = new Set(['metric_name', 'namespace', 'service_name', 'variable']);

/** One name a resource claims: where it sits and its value. */
interface NamedAttribute {
  readonly where: string;
  readonly value: string;
}

/** Every literal name-like attribute of every resource (references to other resources are not names of their own). */
function namedAttributes(synth: SynthJson): NamedAttribute[] {
  const found: NamedAttribute[] = [];
  const walk = (value: unknown, where: string): void => {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${where}[${i}]`));
    if (value === null || typeof value !== 'object') return;
    for (const [key, v] of Object.entries(value)) {
      if (typeof v === 'string' && NAME_KEY.test(key) && !NOT_A_NAME.has(key) && !v.startsWith('${')) found.push({ where: `${where}.${key}`, value: v });
      else walk(v, `${where}.${key}`);
    }
  };
  for (const [type, byId] of Object.entries(synth.resource ?? {})) {
    for (const [id, body] of Object.entries(byId)) walk(body, `${type}.${id}`);
  }
  return found;
}

/**
 * The same fleet deployed twice, as staging and prod in one account: different names, buckets and VPCs
 * (two interface endpoints with private DNS for one service cannot share a VPC, so in one VPC only one
 * deployment creates them).
 */
const deployment = (name: string, vpcSuffix: string) => ({
  ...BASE_CONFIG,
  name,
  vpcId: `vpc-0a1b2c3d4e5f607${vpcSuffix}`,
  bucket: { name: `acme-${name}-backups` },
  alarmEmail: 'ops@example.com',
  endpoints: { s3Gateway: true, routeTableIds: ['rtb-0a1b2c3d4e5f60755'], ecs: true, ssmmessages: true },
  targets: [
    { ...BASE_CONFIG.targets[0], taskRoleName: 'app-db-task', drill: { schedule: '30 3 * * 0' } },
    { name: 'cache', engine: 'redis', cluster: 'prod', service: 'cache', container: 'redis', backupDir: '/backup' },
  ],
});

describe('deployment name', () => {
  const staging = synthStack(deployment('staging', '18'));
  const prod = synthStack(deployment('prod', '19'));

  it('finds the named resources it compares', () => {
    // Guards the walk itself: a synth shape it no longer understands would compare nothing.
    expect(namedAttributes(staging).map((a) => a.where.split('.')[0])).toEqual(
      expect.arrayContaining(['aws_lambda_function', 'aws_iam_role', 'aws_cloudwatch_metric_alarm', 'aws_sns_topic', 'aws_security_group', 'aws_cloudwatch_dashboard', 'aws_cloudwatch_event_rule', 'aws_iam_policy', 'aws_efs_access_point', 'aws_vpc_endpoint']),
    );
  });

  it.each([
    ['staging', staging],
    ['prod', prod],
  ])('puts the name %s into every resource name', (name, synth) => {
    // The bucket's name is the config's own (globally unique); the next test still compares it.
    const ours = namedAttributes(synth).filter((a) => !/^aws_s3_bucket\.[^.]+\.bucket$/.test(a.where));
    const unprefixed = ours.filter((a) => !a.value.split('/').some((part) => part === name || part.startsWith(`${name}-`)));
    expect(unprefixed).toEqual([]);
  });

  it('gives two deployments in one account no name in common', () => {
    const prodNames = new Set(namedAttributes(prod).map((a) => a.value));
    expect(namedAttributes(staging).filter((a) => prodNames.has(a.value))).toEqual([]);
  });

  it("is the metrics' service dimension in the Lambda and in every alarm on its metrics", () => {
    const fn = resources(staging, 'aws_lambda_function')[0] as { environment: { variables: Record<string, string> } };
    expect(fn.environment.variables.POWERTOOLS_SERVICE_NAME).toBe('staging');
    const ours = resources(staging, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'EcsDbBackup');
    expect(ours.length).toBeGreaterThan(0);
    for (const alarm of ours) expect(alarm.dimensions).toMatchObject({ service: 'staging' });
  });
});
