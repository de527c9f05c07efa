import type { BenchResults, TargetResult } from './results.js';

/** Limits of issue 7. */
export const LIMITS = {
  dumpVsFloor: 1.15,
  uploadVsAws: 1.0,
  uploadRssMiB: 128,
  e2eVsFloor: 1.4,
  drillVsRestore: 2.5,
  digestsVsCounts: 1.1,
  /** Every file of the Lambda bundle together, in MB (10^6 bytes). */
  bundleMB: 1,
  /** A fresh node importing the bundle, minus `node -e ''`. */
  coldImportMs: 150,
  /** pgbench TPS during the backup job vs without a backup. */
  tpsVsNoBackup: 0.85,
  /** pgbench TPS during the backup job vs during the naive `pg_dump -Fc`. */
  tpsVsNaive: 1,
  /** Invocations after the first that resumed the upload of one backup (time limit set low). */
  resumedInvocations: 2,
} as const;

function target(t: Omit<TargetResult, 'met'>): TargetResult {
  if (t.measured === null || !Number.isFinite(t.measured)) return { ...t, measured: null, met: null };
  return { ...t, met: t.comparison === '<=' ? t.measured <= t.limit : t.measured >= t.limit };
}

/**
 * Evaluates every target against what the run measured; a target whose section did not run is listed with
 * `met: null`. Upload targets are per size: the configured sizes, or the measured ones.
 */
export function evaluateTargets(sections: BenchResults['sections'], uploadSizesMiB: readonly number[]): TargetResult[] {
  const { dump, upload, e2e, drill, bundle, impact } = sections;
  const [alone, naive, job] = impact?.rows ?? [];
  const targets: TargetResult[] = [
    target({
      id: 'dump-vs-floor',
      description: "PostgreSQL backup job wall time vs `pg_dump -Fc -Z0 > /dev/null`",
      measured: dump ? dump.job.wallSeconds / dump.floor.wallSeconds : null,
      comparison: '<=',
      limit: LIMITS.dumpVsFloor,
      unit: 'x',
    }),
  ];
  const sizes = upload ? upload.sizes.map((s) => s.sizeMiB) : uploadSizesMiB;
  for (const sizeMiB of sizes) {
    const measured = upload?.sizes.find((s) => s.sizeMiB === sizeMiB);
    targets.push(
      target({
        id: `upload-throughput-${sizeMiB}mib`,
        description: `uploader throughput vs \`aws s3 cp\`, ${sizeMiB} MiB`,
        measured: measured ? measured.aws.wallSeconds / measured.ours.wallSeconds : null,
        comparison: '>=',
        limit: LIMITS.uploadVsAws,
        unit: 'x',
      }),
      target({
        id: `upload-rss-${sizeMiB}mib`,
        description: `uploader peak RSS, ${sizeMiB} MiB`,
        measured: measured ? measured.ours.maxRssKiB / 1024 : null,
        comparison: '<=',
        limit: LIMITS.uploadRssMiB,
        unit: 'MiB',
      }),
    );
  }
  targets.push(
    target({
      id: 'e2e-vs-floor',
      description: 'end to end (invoke → verified object in S3) vs `pg_dump -Fc -Z0 > /dev/null`',
      measured: e2e ? e2e.median.wallSeconds / e2e.floor.wallSeconds : null,
      comparison: '<=',
      limit: LIMITS.e2eVsFloor,
      unit: 'x',
    }),
    target({
      id: 'e2e-upload-resumed',
      description: 'a backup uploaded over short invocations: invocations that resumed its upload, the object byte-identical to the dump',
      measured: e2e?.resume ? (e2e.resume.identical ? e2e.resume.uploadingInvocations : 0) : null,
      comparison: '>=',
      limit: LIMITS.resumedInvocations,
      unit: 'invocations',
    }),
    target({
      id: 'drill-vs-restore',
      description: 'PostgreSQL content drill (restore + re-dump + archive, digested) vs the restore job alone',
      measured: drill ? drill.drill.wallSeconds / drill.restore.wallSeconds : null,
      comparison: '<=',
      limit: LIMITS.drillVsRestore,
      unit: 'x',
    }),
    target({
      id: 'backup-digests-vs-counts',
      description: 'PostgreSQL backup job with per-table row digests vs counting rows only',
      measured: drill ? drill.backupDigests.wallSeconds / drill.backupCountsOnly.wallSeconds : null,
      comparison: '<=',
      limit: LIMITS.digestsVsCounts,
      unit: 'x',
    }),
    target({
      id: 'impact-tps-vs-none',
      description: 'live database: pgbench TPS during the backup job (priority low) vs without a backup',
      measured: alone && job ? job.tps / alone.tps : null,
      comparison: '>=',
      limit: LIMITS.tpsVsNoBackup,
      unit: 'x',
    }),
    target({
      id: 'impact-tps-vs-naive',
      description: 'live database: pgbench TPS during the backup job (priority low) vs during the naive `pg_dump -Fc`',
      measured: naive && job ? job.tps / naive.tps : null,
      comparison: '>=',
      limit: LIMITS.tpsVsNaive,
      unit: 'x',
    }),
    target({
      id: 'bundle-size',
      description: 'orchestrator Lambda bundle, every file (entry and chunks)',
      measured: bundle ? bundle.bytes / 1e6 : null,
      comparison: '<=',
      limit: LIMITS.bundleMB,
      unit: 'MB',
    }),
    target({
      id: 'cold-import',
      description: "cold import of the bundle by a fresh node, minus `node -e ''`",
      measured: bundle ? bundle.importNetMs : null,
      comparison: '<=',
      limit: LIMITS.coldImportMs,
      unit: 'ms',
    }),
  );
  return targets;
}
