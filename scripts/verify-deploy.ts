import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { errorMessage } from '../functions/shared/errors.js';
import { buildOrchestratorBundle } from '../modules/orchestrator-bundle.js';
import { verifyDeployment, type DeploymentReport } from './verify-deploy/deployment.js';

/**
 * `npm run verify:deploy`: each example config deployed into moto (IAM enforced) as JSON with the real
 * `cdktf deploy` and as HCL with plain `terraform apply`, read back through the AWS SDK, planned again
 * (no changes but the emulator's named gaps) and destroyed (nothing left). Needs no AWS account.
 */

/** The example configs deployed by default. */
export const DEPLOYED_EXAMPLES = ['examples/minimal.json', 'examples/full.json', 'examples/ten-targets.json', 'examples/disaster-recovery.json'] as const;

/** A resource type moto cannot create: left out of the deployed stack (verify:infra still validates and plans it). */
export interface PlanOnlyResource {
  readonly resourceType: string;
  readonly why: string;
}

/** Every resource type of the examples that moto 5.2 cannot deploy, with why. */
export const PLAN_ONLY_RESOURCES: readonly PlanOnlyResource[] = [
  { resourceType: 'aws_backup_selection', why: "moto 5.2's AWS Backup has no backup selections (CreateBackupSelection, GetBackupSelection)" },
];

const FORMS = ['json', 'hcl'] as const;

interface Job {
  readonly config: string;
  readonly form: (typeof FORMS)[number];
}

async function runJob(job: Job, workRoot: string, bundleDir: string): Promise<{ job: Job; report?: DeploymentReport; error?: string; lines: string[] }> {
  const lines: string[] = [];
  const started = Date.now();
  try {
    const report = await verifyDeployment({
      examplePath: resolve(job.config),
      form: job.form,
      workDir: join(workRoot, `${basename(job.config, '.json')}-${job.form}`),
      bundleDir,
      log: (l) => lines.push(l),
      skipResourceTypes: PLAN_ONLY_RESOURCES.map((r) => r.resourceType),
    });
    lines.push(`  ${report.rowsChecked} properties read back, ${Math.round((Date.now() - started) / 1000)} s`);
    return { job, report, lines };
  } catch (error) {
    return { job, error: errorMessage(error), lines };
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('verify-deploy')
    .description('Deploy each config into moto (cdktf deploy for JSON, terraform apply for HCL), read it back, plan again, destroy.')
    .option('-c, --config <file>', `config file (repeatable; default: ${DEPLOYED_EXAMPLES.join(', ')})`, (v: string, acc: string[]) => [...acc, v], [])
    .option('-f, --form <form>', 'json, hcl or both', 'both')
    .option('-j, --parallel <n>', 'deployments at a time (each runs its own moto)', '2')
    .option('-w, --work-dir <dir>', 'scratch directory', join(tmpdir(), 'ecs-db-backup-verify-deploy'))
    .exitOverride();
  let opts: { config: string[]; form: string; parallel: string; workDir: string };
  try {
    opts = program.parse([...argv]).opts();
  } catch (error) {
    return (error as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const forms = opts.form === 'both' ? FORMS : FORMS.filter((f) => f === opts.form);
  const parallel = Number(opts.parallel);
  if (forms.length === 0 || !Number.isInteger(parallel) || parallel < 1) {
    process.stderr.write(`error: --form must be json, hcl or both and --parallel a positive integer\n`);
    return 2;
  }
  const configs = opts.config.length > 0 ? opts.config : [...DEPLOYED_EXAMPLES];
  const workRoot = resolve(opts.workDir);
  const bundle = buildOrchestratorBundle({ outDir: join(workRoot, 'bundle') });
  const queue: Job[] = configs.flatMap((config) => forms.map((form) => ({ config, form })));
  let failed = 0;
  const worker = async () => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      const r = await runJob(job, workRoot, bundle.dir);
      const ok = r.error === undefined && r.report!.problems.length === 0;
      if (!ok) failed++;
      const out = [`${job.config} (${job.form}): ${ok ? 'deployed, read back, planned clean, destroyed' : 'FAILED'}`, ...r.lines];
      for (const gap of r.report?.gaps ?? []) out.push(`  emulator gap: ${gap}`);
      for (const skipped of r.report?.skipped ?? []) {
        out.push(`  plan-only: ${skipped}: ${PLAN_ONLY_RESOURCES.find((p) => skipped.startsWith(`${p.resourceType}.`))?.why ?? ''}`);
      }
      for (const problem of r.report?.problems ?? []) out.push(`  error: ${problem}`);
      if (r.error !== undefined) out.push(`  error: ${r.error}`);
      (ok ? process.stdout : process.stderr).write(`${out.join('\n')}\n`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const total = configs.length * forms.length;
  process.stdout.write(`${total - failed}/${total} deployments verified\n`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv).catch((error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    return 1;
  });
}
