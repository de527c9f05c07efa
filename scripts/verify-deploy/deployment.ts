import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../functions/shared/config/load.js';
import type { BackupConfig } from '../../functions/shared/config/schema.js';
import { Testing } from 'cdktf';
import { BackupStack } from '../../modules/backup-stack.js';
import { EMULATOR_SKIP_ENV } from '../../modules/emulator-skip.js';
import { BUNDLE_DIR_ENV } from '../../modules/orchestrator-bundle.js';
import { startMotoServer } from '../../test/helpers/moto.js';
import { run } from '../verify-infra.js';
import { awsEndpoint, type AwsEndpoint } from './aws-endpoint.js';
import { configForInfra, existingInfraShape } from './deploy-config.js';
import { judgeDrift, planDrift } from './drift.js';
import { createExistingInfra, type ExistingInfra } from './existing-infra.js';
import { inventoryDiff, takeInventory } from './inventory.js';
import { clientsFor, READ_BACK_ROWS, readBack, type ReadBackContext, type StateResource } from './read-back.js';
import { DISASTER_RECOVERY_ROWS } from './read-back-dr.js';

/**
 * One example config deployed for real into moto, the way the README tells users: JSON with
 * `cdktf deploy --auto-approve --skip-provider-lock` / `cdktf destroy`, HCL with plain
 * `terraform init/apply/destroy` on `cdktf synth --hcl`. Between apply and destroy: the read-back,
 * an optional check of the running system, and a second plan that must be empty but for the emulator's
 * known gaps. moto runs with IAM enforced, so every call is signed and checked against a policy.
 */

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What a check of the running system gets: the deployment in the emulator. */
export interface Deployed {
  readonly aws: AwsEndpoint;
  readonly config: BackupConfig;
  readonly infra: ExistingInfra;
  readonly outputs: Readonly<Record<string, string>>;
  readonly accountId: string;
  /** The Terraform state after apply. */
  readonly state: readonly StateResource[];
  /** The synthesized stack directory that was applied. */
  readonly stackDir: string;
}

/** Options of {@link verifyDeployment}. */
export interface DeploymentOptions {
  /** An example config (made-up ids; rewritten to the emulator's). */
  readonly examplePath: string;
  readonly form: 'json' | 'hcl';
  /** Scratch directory of this deployment (synth output, state, config). */
  readonly workDir: string;
  /** A prebuilt orchestrator bundle, so every synth packages the same code. */
  readonly bundleDir: string;
  readonly log: (line: string) => void;
  /** Changes the config before it is deployed (the example's, with the emulator's ids). Default: none. */
  readonly adjust?: (config: Record<string, unknown>) => Record<string, unknown>;
  /** Runs after the read-back, before the second plan (e.g. the orchestrator against the deployment); the read-back runs again after it. */
  readonly whileDeployed?: (deployed: Deployed) => Promise<void>;
  /** Resource types left out of the deployed stack (the emulator cannot create them; modules/emulator-skip.ts). Default: none. */
  readonly skipResourceTypes?: readonly string[];
  /** Stop after the read-back (and whileDeployed): no second plan, no destroy (npm test's time budget). Default: false. */
  readonly deployOnly?: boolean;
}

/** What a deployment found. */
export interface DeploymentReport {
  /** Anything not as intended: a failure. */
  readonly problems: string[];
  /** Known emulator gaps met (read-back rows and plan drift), printed. */
  readonly gaps: string[];
  readonly rowsChecked: number;
  /** Resources of the stack left out of the deployment (plan-only). */
  readonly skipped: string[];
}

/** Deploys, reads back, plans again and destroys one config; the emulator is stopped at the end. */
export async function verifyDeployment(opts: DeploymentOptions): Promise<DeploymentReport> {
  const example = JSON.parse(readFileSync(opts.examplePath, 'utf8')) as unknown;
  // The example itself must still validate (it is what users copy).
  const parsed = parseConfig(example, opts.examplePath);
  rmSync(opts.workDir, { recursive: true, force: true });
  mkdirSync(opts.workDir, { recursive: true });
  // AWS Backup's service role attaches AWS's managed policies, which moto loads only when asked (slower start).
  const moto = await startMotoServer({ enforceIam: true, awsManagedPolicies: parsed.snapshots !== undefined });
  const aws = awsEndpoint(moto.endpoint, moto.admin);
  const problems: string[] = [];
  const gaps: string[] = [];
  let clients: ReturnType<typeof clientsFor> | undefined;
  try {
    const infra = await createExistingInfra(aws, existingInfraShape(example));
    const configPath = join(opts.workDir, 'backup.config.json');
    const raw = (opts.adjust ?? ((c) => c))(configForInfra(example, infra));
    writeFileSync(configPath, JSON.stringify(raw, null, 2));
    const config = parseConfig(raw, configPath);
    clients = clientsFor(aws, config.region);
    const before = await takeInventory(clients);
    const tf = terraformSteps(opts, aws, configPath, config.name);
    await tf.apply();
    const outputs = await tf.outputs();
    const accountId = await callerAccount(aws, config.region);
    const ctx: ReadBackContext = { config, outputs, accountId, clients, state: tf.state(), stackDir: tf.stackDir };
    const rows = [...READ_BACK_ROWS, ...DISASTER_RECOVERY_ROWS];
    const read = await readBack(ctx, rows);
    problems.push(...read.problems);
    gaps.push(...read.gaps);
    if (opts.whileDeployed !== undefined) {
      await opts.whileDeployed({ aws, config, infra, outputs, accountId, state: ctx.state, stackDir: tf.stackDir });
      // What the run changed to work around the emulator must be back as deployed.
      problems.push(...(await readBack(ctx, rows)).problems.map((p) => `after the run: ${p}`));
    }
    const skipped = resourcesOfTypes(config, opts.bundleDir, opts.skipResourceTypes ?? []);
    if (opts.deployOnly === true) return { problems, gaps, rowsChecked: read.checked, skipped };
    const drift = judgeDrift(planDrift(await tf.plan()));
    problems.push(...drift.problems.map((p) => `second plan wants to change ${p}`));
    gaps.push(...drift.known.map((k) => `second plan: ${k}`));
    await tf.destroy();
    problems.push(...inventoryDiff(before, await takeInventory(clients)).map((l) => `after destroy: ${l}`));
    return { problems, gaps, rowsChecked: read.checked, skipped };
  } finally {
    clients?.destroy();
    await moto.stop();
  }
}

/** The addresses of the stack's resources of `types` (those the deployment left out). */
function resourcesOfTypes(config: BackupConfig, bundleDir: string, types: readonly string[]): string[] {
  if (types.length === 0) return [];
  const stack = new BackupStack(Testing.app(), config.name, { config, bundleDir });
  const synth = JSON.parse(Testing.synth(stack)) as { resource?: Record<string, Record<string, unknown>> };
  return types.flatMap((t) => Object.keys(synth.resource?.[t] ?? {}).map((id) => `${t}.${id}`));
}

async function callerAccount(aws: AwsEndpoint, region: string): Promise<string> {
  const sts = new STSClient(aws.clientConfig(region));
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Account!;
  } finally {
    sts.destroy();
  }
}

/** The commands of one form, run in the repo (cdktf) and the synthesized stack directory (terraform). */
function terraformSteps(opts: DeploymentOptions, aws: AwsEndpoint, configPath: string, stackName: string) {
  const out = join(opts.workDir, 'cdktf.out');
  const stackDir = join(out, 'stacks', stackName);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ACCESS_KEY_ID: aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.secretAccessKey,
    BACKUP_CONFIG: configPath,
    [BUNDLE_DIR_ENV]: opts.bundleDir,
    [EMULATOR_SKIP_ENV]: (opts.skipResourceTypes ?? []).join(','),
    TF_CLI_CONFIG_FILE: join(REPO_ROOT, 'terraformrc'),
    // Deployments run side by side: no shared plugin cache (the providers come from the mirror anyway).
    CDKTF_DISABLE_PLUGIN_CACHE_ENV: 'true',
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    CI: '1',
  };
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'TF_PLUGIN_CACHE_DIR', 'TF_DATA_DIR']) delete env[name];
  const timed = async (what: string, command: string, args: string[], cwd: string) => {
    const started = Date.now();
    const stdout = await run(command, args, cwd, env);
    opts.log(`  ${what}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return stdout;
  };
  const cdktf = (...args: string[]) => timed(`cdktf ${args.join(' ')}`, 'npx', ['--no-install', 'cdktf', ...args, '--output', out], REPO_ROOT);
  const terraform = (...args: string[]) => timed(`terraform ${args.filter((a) => !a.startsWith('-')).join(' ')}`, 'terraform', args, stackDir);
  return {
    stackDir,
    async apply() {
      if (opts.form === 'json') {
        await cdktf('deploy', '--auto-approve', '--skip-provider-lock');
      } else {
        await cdktf('synth', '--hcl');
        await terraform('init', '-input=false', '-no-color');
        await terraform('apply', '-auto-approve', '-input=false', '-no-color');
      }
    },
    async outputs(): Promise<Record<string, string>> {
      const raw = JSON.parse(await terraform('output', '-json', '-no-color')) as Record<string, { value: unknown }>;
      // A map or list output (target_access_point_ids) as its JSON, so every output stays one string.
      return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v.value === 'string' ? v.value : JSON.stringify(v.value)]));
    },
    /** The state file itself: `terraform show -json` would load every provider schema first (10 s). */
    state(): StateResource[] {
      const file = JSON.parse(readFileSync(join(opts.workDir, `terraform.${stackName}.tfstate`), 'utf8')) as {
        resources: Array<{ mode: string; type: string; name: string; instances: Array<{ attributes: Record<string, unknown> }> }>;
      };
      return file.resources.flatMap((r) =>
        r.instances.map((i) => ({ address: `${r.mode === 'data' ? 'data.' : ''}${r.type}.${r.name}`, values: i.attributes })),
      );
    },
    async plan(): Promise<unknown> {
      await terraform('plan', '-input=false', '-no-color', '-out=second.plan');
      return JSON.parse(await terraform('show', '-json', 'second.plan'));
    },
    async destroy() {
      if (opts.form === 'json') {
        await cdktf('destroy', '--auto-approve', '--skip-synth', '--skip-provider-lock');
      } else {
        await terraform('destroy', '-auto-approve', '-input=false', '-no-color');
      }
    },
  };
}
