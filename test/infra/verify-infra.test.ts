import { spawn } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { comparePlans, digestPlan, summarizePlan } from '../../scripts/verify-infra.js';
import { synthStack } from '../helpers/synth.js';
import { tempDir } from '../helpers/temp-dir.js';

const plan = (after: Record<string, unknown>, extra: object[] = []) => ({
  resource_changes: [
    { address: 'aws_s3_bucket.b', mode: 'managed', change: { actions: ['create'], after, after_unknown: { arn: true } } },
    ...extra,
  ],
  output_changes: { bucket_name: {} },
});

function runVerify(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // its own process group, so a test that fails or times out stops terraform too
    const child = spawn('npx', ['--no-install', 'tsx', 'scripts/verify-infra.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    onTestFinished(() => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('plan comparison', () => {
  it('finds nothing between equal plans', () => {
    expect(comparePlans(digestPlan(plan({ bucket: 'x' })), digestPlan(plan({ bucket: 'x' })))).toEqual([]);
  });

  it('names an attribute that differs', () => {
    expect(comparePlans(digestPlan(plan({ bucket: 'x' })), digestPlan(plan({ bucket: 'y' })))).toEqual([
      'aws_s3_bucket.b.bucket (after): json "x" != hcl "y"',
    ]);
  });

  it('names a resource only one plan has', () => {
    const extra = { address: 'aws_sns_topic.t', mode: 'managed', change: { actions: ['create'], after: {}, after_unknown: {} } };
    expect(comparePlans(digestPlan(plan({})), digestPlan(plan({}, [extra])))).toEqual(['aws_sns_topic.t: only in the hcl plan']);
  });

  it('summarizes a plan by action and type', () => {
    expect(summarizePlan(digestPlan(plan({})))).toEqual(['  1 × create aws_s3_bucket']);
  });
});

describe('offline plan settings', () => {
  it('never reach the synthesized provider', () => {
    const provider = synthStack().provider?.aws;
    expect(provider).toEqual([{ region: 'eu-west-1', default_tags: [{ tags: { Project: 'ecs-db-backup' } }] }]);
  });
});

describe('verify-infra', () => {
  // The three configurations: minimal; everything on (KMS, endpoints, e-mail, existing bucket); ten targets over two clusters;
  // and the disaster-recovery layers (snapshots, copies, replication, Object Lock) in two regions.
  it.each([
    ['examples/minimal.json', [/1 × create aws_lambda_function\b/, /1 × create aws_s3_bucket\b/]],
    ['examples/full.json', [/3 × create aws_vpc_endpoint\b/, /1 × create aws_sns_topic_subscription\b/, /1 × create aws_cloudwatch_dashboard\b/, /1 × create aws_ecs_task_definition\b/]],
    ['examples/ten-targets.json', [/10 × create aws_iam_role_policy_attachment\b/, /22 × create aws_cloudwatch_metric_alarm\b/]],
    // Every disaster-recovery layer on, in two regions: the second region's provider plans offline too.
    ['examples/disaster-recovery.json', [/2 × create aws_backup_vault\b/, /2 × create aws_backup_vault_lock_configuration\b/, /1 × create aws_s3_bucket_replication_configuration\b/, /2 × create aws_s3_bucket_object_lock_configuration\b/]],
  ] as const)('validates and plans %s offline in JSON and HCL, with identical plans', { timeout: 600_000 }, async (config, expected) => {
    const workDir = tempDir('verify-infra-test');
    const { code, output } = await runVerify(['--config', config, '--work-dir', workDir]);
    expect(output).toContain(`${config}: JSON and HCL plans are identical`);
    for (const line of expected) expect(output).toMatch(line);
    expect(output).toContain('1/1 configs verified');
    expect(code).toBe(0);
  });

  it('fails on a config that does not validate', { timeout: 120_000 }, async () => {
    const workDir = tempDir('verify-infra-test');
    const { code, output } = await runVerify(['--config', 'test/infra/absent.json', '--work-dir', workDir]);
    expect(output).toMatch(/error: test\/infra\/absent\.json: cannot read config file \S*absent\.json: ENOENT/);
    expect(output).toContain('0/1 configs verified');
    expect(code).toBe(1);
  });
});
