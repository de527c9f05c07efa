import type { BenchResults, BundleResult, E2eResult, ImpactResult, TargetResult, UploadSize } from './results.js';
import type { Row } from './runner.js';

const MiB = 1024 * 1024;
const MB = 1e6;

const cell = (text: string) => text.replaceAll('|', '\\|');
const fixed = (n: number, digits = 2) => n.toFixed(digits);
const ratio = (n: number) => `${n.toFixed(2)}×`;
const spread = (range: [number, number] | undefined) => (range ? `${fixed(range[0])}–${fixed(range[1])}` : '—');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** A table of command rows with wall time and total CPU (client + server) as ratios to `base`. */
export function rowsTable(rows: readonly Row[], base: Row, baseName: string): string {
  const total = (r: Row) => r.cpuSeconds + r.serverCpuSeconds;
  return table(
    ['command', 'wall s', 'wall min–max s', 'client CPU s', 'server CPU s', 'client peak RSS MiB', 'output MiB', `wall vs ${baseName}`, `total CPU vs ${baseName}`],
    rows.map((r) => [
      r.label,
      fixed(r.wallSeconds),
      spread(r.wallRange),
      fixed(r.cpuSeconds),
      fixed(r.serverCpuSeconds),
      fixed(r.maxRssKiB / 1024, 0),
      r.bytes === null ? '—' : fixed(r.bytes / MiB, 1),
      ratio(r.wallSeconds / base.wallSeconds),
      total(base) > 0 ? ratio(total(r) / total(base)) : '—',
    ]),
  );
}

/** The targets as a table: measured value, limit and met / NOT MET / not measured. */
export function targetsTable(targets: readonly TargetResult[]): string {
  const value = (t: TargetResult, n: number) => (t.unit === 'x' ? ratio(n) : t.unit === 'MB' ? `${fixed(n, 2)} MB` : `${fixed(n, 0)} ${t.unit}`);
  return table(
    ['target', 'measured', 'limit', 'result'],
    targets.map((t) => [
      t.description,
      t.measured === null ? '—' : value(t, t.measured),
      `${t.comparison === '<=' ? '≤' : '≥'} ${value(t, t.limit)}`,
      t.met === null ? 'not measured' : t.met ? 'met' : 'NOT MET',
    ]),
  );
}

function uploadTable(size: UploadSize): string {
  const rows = [size.ours, size.libStorage, size.aws];
  return table(
    ['uploader', 'wall s', 'MB/s', 'MB/s (transfer only)', 'CPU s', 'peak RSS MiB', 'throughput vs aws s3 cp'],
    rows.map((r) => [
      r.label,
      fixed(r.wallSeconds),
      fixed(r.mbPerSecond, 1),
      r.transferSeconds === null ? '—' : fixed((size.sizeMiB * MiB) / MB / r.transferSeconds, 1),
      fixed(r.cpuSeconds),
      fixed(r.maxRssKiB / 1024, 0),
      ratio(size.aws.wallSeconds / r.wallSeconds),
    ]),
  );
}

function e2eText(e: E2eResult): string {
  const m = e.median;
  const t = table(
    ['', 'wall s', 'wall min–max s', 'vs floor'],
    [
      [`${e.floor.label}, the dump section's own runs`, fixed(e.floor.wallSeconds), spread(e.floor.wallRange), ratio(1)],
      ['end to end: built Lambda, hourly event → `succeeded` (object verified, manifest written)', fixed(m.wallSeconds), spread(e.wallRange), ratio(m.wallSeconds / e.floor.wallSeconds)],
    ],
  );
  const upload = m.uploadSeconds === null ? '' : ` (the UploadSeconds metric, the upload alone: ${fixed(m.uploadSeconds, 1)} s)`;
  const rest = m.wallSeconds - m.dumpSeconds - m.afterDumpSeconds;
  const r = e.resume;
  const resumed = r === undefined ? '' : `\n\nResumed upload: one backup through invocations with ${r.budgetSeconds} s of work each (time limit set low): ` +
    `${r.invocations} invocations, ${r.uploadingInvocations} of them ending with the upload still going, ${fixed(r.wallSeconds, 1)} s in all, ` +
    `object ${fixed(r.objectBytes / MiB, 1)} MiB ${r.identical ? 'byte-identical to the dump on EFS (sha256, hashed by the bench) and to its manifest' : 'NOT identical to the dump on EFS'}.`;
  return `${t}${resumed}\n\nManifest split (medians): dump ${fixed(m.dumpSeconds, 1)} s (dumpEndedAt − startedAt; the container stamps whole seconds); ` +
    `${fixed(m.afterDumpSeconds, 1)} s from dumpEndedAt to uploadedAt: noticing done.gz, the upload${upload} and its sha256 check; ` +
    `${fixed(rest, 1)} s the rest (Lambda process start and bundle import, ECS Exec launch, manifest, exit). Object ${fixed(m.objectBytes / MiB, 1)} MiB.`;
}

/** The proof of a limit: a job cannot finish faster than its CPU (client and server) spread over every core. */
export function cpuBound(d: NonNullable<BenchResults['sections']['dump']>, cpus: number): string {
  const cpu = (row: Row) => row.cpuSeconds + row.serverCpuSeconds;
  const bound = cpu(d.job) / cpus / d.floor.wallSeconds;
  const need = 1.15 * d.floor.wallSeconds * cpus;
  return `CPU bound: the job used ${fixed(cpu(d.job))} CPU seconds (client + server); on ${cpus} cores it cannot take less than ` +
    `${fixed(cpu(d.job) / cpus)} s, ${ratio(bound)} the floor's wall time, however well its stages overlap. ` +
    `1.15× needs at most ${fixed(need)} CPU seconds. Where the job's CPU goes (rows above): compression (\`-Z1 -f file\` vs the floor), ` +
    `the tee/fifo copies and hashing (the stream rows vs \`-Z1\` alone), the count pass (counts only vs the stream), the row digests (the job vs counts only).`;
}

function impactText(x: ImpactResult): string {
  const base = x.rows[0]!;
  const t = table(
    ['scenario', 'TPS', 'p99 latency ms', 'TPS vs no backup', 'p99 vs no backup', 'backup wall s (under load)'],
    x.rows.map((r) => [
      r.label,
      fixed(r.tps, 0),
      fixed(r.p99Ms, 1),
      ratio(r.tps / base.tps),
      ratio(r.p99Ms / base.p99Ms),
      r.backupSeconds === null ? '—' : `${fixed(r.backupSeconds, 1)}${r.covered < 1 ? ` (load covered ${fixed(r.covered * 100, 0)}%)` : ''}`,
    ]),
  );
  const notes = x.rows.filter((r) => r.note).map((r) => `- ${r.label}: ${r.note}`);
  return `pgbench -c ${x.clients} -j ${x.clients} (TPC-B-like) for ${x.loadSeconds} s per scenario on the same cores; TPS and p99 of the transactions that ended while the backup ran (floor dump alone: ${fixed(x.floorSeconds)} s).\n\n${t}${notes.length > 0 ? `\n\nThe job's log:\n${notes.join('\n')}` : ''}`;
}

function bundleTable(b: BundleResult): string {
  return table(
    ['bundle bytes (files)', 'entry bytes', 'gzip -9 bytes', `cold import ms (median of ${b.importRuns})`, "`node -e ''` ms", 'import − node start ms'],
    [[`${b.bytes} (${b.files})`, String(b.entryBytes), String(b.gzipBytes), fixed(b.importMs, 0), fixed(b.nodeBaselineMs, 0), fixed(b.importNetMs, 0)]],
  );
}

/** The whole report as Markdown: the targets, then one table per section that ran. */
export function formatReport(r: BenchResults): string {
  const s = r.sections;
  const db = s.dump?.database ?? s.e2e?.database ?? s.restore?.database ?? s.drill?.database;
  const parts = [
    `## npm run bench, ${r.startedAt}: ${r.machine.cpus} CPUs, node ${r.machine.node}, median of ${r.options.repeats} round-robin runs`,
    `### Targets\n\n${targetsTable(r.targets)}`,
  ];
  if (db) {
    parts.push(`PostgreSQL 15 database: ${fixed(db.bytes / MB, 0)} MB (pgbench -s ${db.pgbenchScale} + ${db.jsonRows} jsonb rows).`);
  }
  if (s.dump) parts.push(`### PostgreSQL dump\n\n${rowsTable([s.dump.floor, s.dump.naive, s.dump.job, ...s.dump.parts], s.dump.floor, 'floor')}\n\n${cpuBound(s.dump, r.machine.cpus)}`);
  if (s.e2e) parts.push(`### End to end\n\n${e2eText(s.e2e)}`);
  if (s.restore) {
    const x = s.restore;
    parts.push(`### Restore of the product's dump (${fixed(x.dumpBytes / MiB, 1)} MiB) into a fresh database\n\n${rowsTable([x.pgRestore, x.pgRestoreJ2, x.job], x.pgRestore, 'pg_restore')}`);
  }
  if (s.drill) {
    const x = s.drill;
    parts.push(
      `### Content check (PostgreSQL)\n\nDrill vs the restore alone:\n\n${rowsTable([x.restore, x.drill], x.restore, 'restore alone')}\n\n` +
        `Backup job with per-table row digests vs counting rows only:\n\n${rowsTable([x.backupCountsOnly, x.backupDigests], x.backupCountsOnly, 'counts only')}`,
    );
  }
  if (s.impact) parts.push(`### Live database during the backup (PostgreSQL)\n\n${impactText(s.impact)}`);
  if (s.upload) {
    const u = s.upload;
    parts.push(
      `### Uploader to s3rver (ours: part ${u.partSizeMiB} MiB × ${u.concurrency}, the product's defaults; ${u.awsVersion.split(' ')[0]}: its defaults; every object verified by sha256)\n\n` +
        u.sizes.map((size) => `${size.sizeMiB} MiB:\n\n${uploadTable(size)}`).join('\n\n') +
        `\n\nA node process with the uploader bundle loaded and nothing uploaded peaks at ${fixed(u.nodeBaselineRssKiB / 1024, 0)} MiB.`,
    );
  }
  if (s.redis) {
    const x = s.redis;
    parts.push(`### Redis 7: ${x.keys} keys\n\n${rowsTable([x.cli, x.cliNoDelay, x.job, ...(x.drill ? [x.drill] : [])], x.cli, 'redis-cli --rdb')}`);
  }
  if (s.bundle) parts.push(`### Orchestrator Lambda bundle\n\n${bundleTable(s.bundle)}`);
  const failed = Object.entries(r.errors);
  if (failed.length > 0) parts.push(`### Failed sections\n\n${failed.map(([section, message]) => `- ${section}: ${message.split('\n')[0]}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

/** The results as the JSON file's text. */
export function toJson(r: BenchResults): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
