import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Command } from 'commander';
import { loadConfigFile } from '../functions/shared/config/load.js';
import { secondRegions } from '../modules/disaster-recovery.js';
import { regionAlias } from '../modules/regional-providers.js';
import { BUNDLE_DIR_ENV, buildOrchestratorBundle } from '../modules/orchestrator-bundle.js';

/**
 * Proves Terraform accepts what the stack synthesizes, with no AWS account and no network: for each
 * config, `cdktf synth` (JSON) and `cdktf synth --hcl`, then `terraform init` from the provider mirror,
 * `validate` and `plan -refresh=false`, and a comparison of the two plans. The offline provider
 * settings live in an override file written only into these throwaway directories.
 */

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Account id the stand-in STS endpoint reports during offline plans. */
export const OFFLINE_ACCOUNT_ID = '123456789012';

/** One resource in a plan: its type and planned attribute values. */
export interface PlannedResource {
  /** Planned values known at plan time. */
  readonly after: unknown;
  /** Which attributes are known only after apply. */
  readonly afterUnknown: unknown;
  /** Planned actions, e.g. ["create"]. */
  readonly actions: readonly string[];
}

/** The parts of `terraform show -json` that two equivalent configurations must agree on. */
export interface PlanDigest {
  /** Resources by address. */
  readonly resources: ReadonlyMap<string, PlannedResource>;
  /** Output names. */
  readonly outputs: readonly string[];
}

/** Extracts a {@link PlanDigest} from the output of `terraform show -json <plan>`. */
export function digestPlan(plan: unknown): PlanDigest {
  const p = plan as { resource_changes?: Array<{ address: string; mode: string; change: { actions: string[]; after: unknown; after_unknown: unknown } }>; output_changes?: Record<string, unknown> };
  const resources = new Map<string, PlannedResource>();
  for (const rc of p.resource_changes ?? []) {
    resources.set(rc.address, { after: rc.change.after, afterUnknown: rc.change.after_unknown, actions: rc.change.actions });
  }
  return { resources, outputs: Object.keys(p.output_changes ?? {}).sort() };
}

/** Lists every difference between two plan digests (empty when they plan the same thing). */
export function comparePlans(a: PlanDigest, b: PlanDigest, labels: readonly [string, string] = ['json', 'hcl']): string[] {
  const problems: string[] = [];
  for (const address of new Set([...a.resources.keys(), ...b.resources.keys()])) {
    const ra = a.resources.get(address);
    const rb = b.resources.get(address);
    if (ra === undefined || rb === undefined) {
      problems.push(`${address}: only in the ${ra === undefined ? labels[1] : labels[0]} plan`);
      continue;
    }
    for (const key of ['actions', 'after', 'afterUnknown'] as const) {
      for (const attr of new Set([...Object.keys(asRecord(ra[key])), ...Object.keys(asRecord(rb[key]))])) {
        const va = asRecord(ra[key])[attr];
        const vb = asRecord(rb[key])[attr];
        if (!isDeepStrictEqual(va, vb)) problems.push(`${address}.${attr} (${key}): ${labels[0]} ${JSON.stringify(va)} != ${labels[1]} ${JSON.stringify(vb)}`);
      }
    }
  }
  if (!isDeepStrictEqual(a.outputs, b.outputs)) problems.push(`outputs: ${labels[0]} ${a.outputs.join(',')} != ${labels[1]} ${b.outputs.join(',')}`);
  return problems;
}

/** One line per resource type: how many of each the plan creates, updates or deletes. */
export function summarizePlan(digest: PlanDigest): string[] {
  const counts = new Map<string, number>();
  for (const [address, r] of digest.resources) {
    const key = `${r.actions.join('+')} ${address.replace(/\.[^.]+$/, '')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${String(n).padStart(3)} × ${k}`);
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
}

/** A stand-in STS endpoint answering GetCallerIdentity, so `data.aws_caller_identity` works offline. */
async function startFakeSts(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
          `<Arn>arn:aws:iam::${OFFLINE_ACCOUNT_ID}:user/offline-plan</Arn><UserId>AIDAOFFLINEPLAN</UserId>` +
          `<Account>${OFFLINE_ACCOUNT_ID}</Account></GetCallerIdentityResult>` +
          `<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * The test-only override: dummy keys, no credential or region checks, STS on loopback, state in the work dir;
 * for the default provider and each aliased one (`aliases`).
 */
function offlineOverride(stsUrl: string, statePath: string, aliases: readonly string[]): object {
  const offline = {
    access_key: 'AKIAOFFLINEPLAN00000',
    secret_key: 'offline-plan-only',
    skip_credentials_validation: true,
    skip_requesting_account_id: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    endpoints: [{ sts: stsUrl }],
  };
  return {
    terraform: [{ backend: [{ local: [{ path: statePath }] }] }],
    provider: { aws: [offline, ...aliases.map((alias) => ({ alias, ...offline }))] },
  };
}

/** Runs a command; resolves to its stdout, rejects with its exit status, stderr and stdout. */
// Asynchronous on purpose: the stand-in STS endpoint lives in this process and must keep answering.
export function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return ok(stdout);
      const stderr = Buffer.concat(err).toString('utf8');
      fail(new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${code ?? signal}):\n${stderr}${stdout}`.trimEnd()));
    });
  });
}

/** Synthesizes one form of the stack and has Terraform validate and plan it; returns the plan digest. */
async function synthAndPlan(
  configPath: string,
  stackName: string,
  form: 'json' | 'hcl',
  workDir: string,
  stsUrl: string,
  bundleDir: string,
  aliases: readonly string[],
): Promise<PlanDigest> {
  const out = join(workDir, form);
  rmSync(out, { recursive: true, force: true });
  const env = {
    ...process.env,
    BACKUP_CONFIG: configPath,
    [BUNDLE_DIR_ENV]: bundleDir,
    CHECKPOINT_DISABLE: '1',
    TF_CLI_CONFIG_FILE: join(REPO_ROOT, 'terraformrc'),
    TF_IN_AUTOMATION: '1',
    CI: '1',
  };
  await run('npx', ['--no-install', 'cdktf', 'synth', '--output', out, ...(form === 'hcl' ? ['--hcl'] : [])], REPO_ROOT, env);
  const stackDir = join(out, 'stacks', stackName);
  const expected = form === 'json' ? 'cdk.tf.json' : 'cdk.tf';
  if (!readdirSync(stackDir).includes(expected)) throw new Error(`cdktf synth wrote no ${expected} in ${stackDir}`);
  writeFileSync(join(stackDir, 'zz_offline_override.tf.json'), JSON.stringify(offlineOverride(stsUrl, join(workDir, `${form}.tfstate`), aliases), null, 2));
  await run('terraform', ['init', '-input=false', '-no-color'], stackDir, env);
  await run('terraform', ['validate', '-no-color'], stackDir, env);
  await run('terraform', ['plan', '-refresh=false', '-input=false', '-lock=false', '-no-color', '-out=plan.bin'], stackDir, env);
  return digestPlan(JSON.parse(await run('terraform', ['show', '-json', 'plan.bin'], stackDir, env)));
}

/** Verifies one config in both forms; returns the problems found (none: it passed). */
export async function verifyConfig(configPath: string, workRoot: string, bundleDir: string, log: (line: string) => void): Promise<string[]> {
  const absolute = resolve(configPath);
  // A config that does not validate fails here, with the schema's messages, before any synth.
  const config = loadConfigFile(absolute);
  const stackName = config.name;
  const aliases = secondRegions(config).map(regionAlias);
  const workDir = join(workRoot, basename(configPath).replace(/\.json$/, ''));
  mkdirSync(workDir, { recursive: true });
  const { server, url } = await startFakeSts();
  try {
    // Both forms at once: each is mostly waiting on one single-threaded tool.
    const [jsonPlan, hclPlan] = await Promise.all([
      synthAndPlan(absolute, stackName, 'json', workDir, url, bundleDir, aliases),
      synthAndPlan(absolute, stackName, 'hcl', workDir, url, bundleDir, aliases),
    ]);
    log(`${configPath}: JSON and HCL forms valid; plan:`);
    for (const line of summarizePlan(jsonPlan)) log(`  ${line}`);
    return comparePlans(jsonPlan, hclPlan);
  } finally {
    server.close();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('verify-infra')
    .description('Synthesize JSON and HCL, terraform init/validate/plan offline, compare the plans.')
    .option('-c, --config <file>', 'config file (repeatable; default: every examples/*.json)', (v: string, acc: string[]) => [...acc, v], [])
    .option('-w, --work-dir <dir>', 'where to synthesize and plan', join(tmpdir(), 'ecs-db-backup-verify-infra'))
    .exitOverride();
  let opts: { config: string[]; workDir: string };
  try {
    opts = program.parse([...argv]).opts();
  } catch (error) {
    // Commander has printed the help or the usage error already.
    return (error as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const configs = opts.config.length > 0 ? opts.config : readdirSync(join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.json')).sort().map((f) => join('examples', f));
  const workRoot = resolve(opts.workDir);
  // One bundle for every synth: the JSON and HCL forms must package the same code.
  const bundle = buildOrchestratorBundle({ outDir: join(workRoot, 'bundle') });
  process.stdout.write(`orchestrator bundle: ${bundle.bytes} bytes\n`);
  let failed = 0;
  for (const config of configs) {
    try {
      const problems = await verifyConfig(config, workRoot, bundle.dir, (l) => process.stdout.write(`${l}\n`));
      if (problems.length > 0) {
        failed++;
        process.stderr.write(`error: ${config}: the JSON and HCL plans differ:\n  ${problems.join('\n  ')}\n`);
      } else {
        process.stdout.write(`${config}: JSON and HCL plans are identical\n`);
      }
    } catch (error) {
      failed++;
      process.stderr.write(`error: ${config}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  process.stdout.write(`${configs.length - failed}/${configs.length} configs verified\n`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // e.g. the bundle cannot be built: one error line instead of an unhandled rejection's stack
  process.exitCode = await main(process.argv).catch((error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  });
}
