import type { BackupConfig } from '../../functions/shared/config/schema.js';
import { showBucket } from './bucket.js';
import type { DemoContext } from './default-demo.js';
import { noBackupVerdict, runHourly } from './hourly.js';
import type { PlannedTask } from './local-config.js';
import { summaryRow, type SummaryRow, type Verdict } from './summary-table.js';
import { verifyByDrill } from './verify-drill.js';
import { startWorld } from './world.js';

/**
 * `--config FILE`: the user's own targets against their own local servers. The stand-in tasks are
 * named as in the config; the bucket (moto's S3) and the EFS (a temp directory) are throwaway. Each
 * backup is verified with the product's restore drill, so the user's databases are only read.
 */

/** Runs the demo on a validated config and its planned stand-in tasks; resolves to the summary rows. */
export async function runLocalDemo(ctx: DemoContext, config: BackupConfig, tasks: readonly PlannedTask[]): Promise<SummaryRow[]> {
  const { life, say } = ctx;
  say('- starting moto (S3), the ECS/agent stand-in; building the Lambda bundle');
  const world = await life.track(
    startWorld({
      clusters: [...new Set(config.targets.map((t) => t.cluster))],
      region: config.region,
      bucket: config.bucket.name,
      keyPrefix: config.keyPrefix,
      fastPathSeconds: 30,
      mark: life.root,
    }),
  );
  for (const task of tasks) {
    world.addTask(task);
    for (const c of task.containers) {
      say(`  stand-in: cluster ${task.cluster}, service ${task.service}, container ${c.name}${Object.keys(c.env).length ? ` with ${Object.keys(c.env).join(', ')} from your environment` : ''}`);
    }
  }
  const targets = world.setTargets(config.targets);
  for (const t of targets) say(`  target ${t.name}: ${t.engine} at ${t.host}:${t.port ?? 'default port'}${t.database ? `, database ${t.database}` : ''}`);

  const names = targets.map((t) => t.name);
  // Your databases may be large: each invocation waits up to 30 s for a dump, and the uploads resume across invocations.
  const hourly = await runHourly(world, names, say, { maxInvocations: 30, pauseMs: 2_000, stopping: () => life.stopping });
  life.check();
  const manifests = await showBucket(world, names, say);

  const rows: SummaryRow[] = [];
  for (const t of targets) {
    const h = hourly.get(t.name);
    const manifest = manifests.get(t.name) ?? null;
    let verdict: Verdict;
    life.check();
    if (h?.outcome !== 'succeeded' || manifest === null) verdict = noBackupVerdict(h);
    else verdict = await verifyByDrill(world, t, say, () => life.stopping);
    rows.push(summaryRow(t.name, t.engine, manifest, verdict));
  }
  life.check();
  return rows;
}
