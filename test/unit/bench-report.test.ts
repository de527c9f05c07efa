import { describe, expect, it } from 'vitest';
import { formatReport, rowsTable, targetsTable, toJson } from '../../scripts/bench/report.js';
import type { BenchResults, TargetResult, UploadRow } from '../../scripts/bench/results.js';
import type { Row } from '../../scripts/bench/runner.js';
import { evaluateTargets } from '../../scripts/bench/targets.js';

const DB = { bytes: 1_050_000_000, pgbenchScale: 53, jsonRows: 606_061 };

function row(label: string, wallSeconds: number, extra: Partial<Row> = {}): Row {
  return { label, wallSeconds, cpuSeconds: 2, serverCpuSeconds: 2, maxRssKiB: 12_288, bytes: null, ...extra };
}

function up(label: string, wallSeconds: number, rssMiB: number): UploadRow {
  return { label, wallSeconds, transferSeconds: wallSeconds - 0.5, cpuSeconds: 3, maxRssKiB: rssMiB * 1024, mbPerSecond: (256 * 1024 * 1024) / 1e6 / wallSeconds };
}

function fullResults(): BenchResults {
  const sections: BenchResults['sections'] = {
    bundle: { bytes: 1_500_000, entryBytes: 300_000, files: 9, gzipBytes: 400_000, importRuns: 10, nodeBaselineMs: 30, importMs: 240, importNetMs: 210 },
    upload: {
      partSizeMiB: 16,
      concurrency: 4,
      awsVersion: 'aws-cli/2.9.19 Python/3.11.2',
      nodeBaselineRssKiB: 57_344,
      sizes: [{ sizeMiB: 256, ours: up('ours', 8, 100), libStorage: up('lib-storage', 9, 150), aws: up('aws s3 cp', 10, 80) }],
    },
    redis: { keys: 1000, cli: row('redis-cli --rdb', 5), cliNoDelay: row('redis-cli --rdb delay 0', 0.5), job: row('redis job', 1) },
    dump: { database: DB, floor: row('floor', 10), naive: row('naive | pipe', 40, { bytes: 50 * 1024 * 1024 }), job: row('job', 11, { bytes: 60 * 1024 * 1024 }), parts: [row('job part: stream', 10.5)] },
    e2e: { database: DB, floor: row('floor', 10), median: { wallSeconds: 15, dumpSeconds: 11, afterDumpSeconds: 3, uploadSeconds: 2, objectBytes: 60 * 1024 * 1024 }, runs: [] },
    impact: {
      clients: 2,
      loadSeconds: 30,
      floorSeconds: 5,
      rows: [
        { label: 'no backup', tps: 1000, p99Ms: 10, backupSeconds: null, covered: 1 },
        { label: 'naive', tps: 500, p99Ms: 30, backupSeconds: 10, covered: 1 },
        { label: 'the job, low', tps: 900, p99Ms: 12, backupSeconds: 14, covered: 0.8, note: 'priority low: CPU nice +10' },
        { label: 'the job, normal', tps: 600, p99Ms: 20, backupSeconds: 9, covered: 1 },
      ],
    },
    restore: { database: DB, dumpBytes: 60 * 1024 * 1024, job: row('restore job', 30), pgRestore: row('pg_restore', 40), pgRestoreJ2: row('pg_restore -j 2', 28) },
  };
  return {
    version: 1,
    startedAt: '2026-11-22T07:00:00.000Z',
    finishedAt: '2026-11-22T07:10:00.000Z',
    machine: { cpus: 2, node: 'v20.20.2', kernel: '6.1' },
    options: { pgSizeMb: 1000, redisKeys: 1000, uploadSizesMiB: [256], repeats: 3, resumeUpload: false, jsonPath: 'x.json', only: ['bundle', 'upload', 'redis', 'dump', 'e2e', 'restore'] },
    sections,
    targets: evaluateTargets(sections, [256]),
    errors: {},
  };
}

describe('rowsTable', () => {
  it('gives wall and total CPU as ratios to the base row, sizes in MiB, and escapes pipes in labels', () => {
    const base = row('floor', 10);
    const text = rowsTable([base, row('a | b', 25, { cpuSeconds: 6, serverCpuSeconds: 2, bytes: 3 * 1024 * 1024, wallRange: [24, 27.5] })], base, 'floor');
    expect(text.split('\n')).toEqual([
      '| command | wall s | wall min–max s | client CPU s | server CPU s | client peak RSS MiB | output MiB | wall vs floor | total CPU vs floor |',
      '|---|---|---|---|---|---|---|---|---|',
      '| floor | 10.00 | — | 2.00 | 2.00 | 12 | — | 1.00× | 1.00× |',
      '| a \\| b | 25.00 | 24.00–27.50 | 6.00 | 2.00 | 12 | 3.0 | 2.50× | 2.00× |',
    ]);
  });
});

describe('targetsTable', () => {
  it.each([
    [{ measured: 1.1, met: true }, '| dump | 1.10× | ≤ 1.15× | met |'],
    [{ measured: 1.2, met: false }, '| dump | 1.20× | ≤ 1.15× | NOT MET |'],
    [{ measured: null, met: null }, '| dump | — | ≤ 1.15× | not measured |'],
  ])('shows %j as its result', (outcome, line) => {
    const t: TargetResult = { id: 'd', description: 'dump', comparison: '<=', limit: 1.15, unit: 'x', ...outcome };
    expect(targetsTable([t]).split('\n')[2]).toBe(line);
  });

  it.each([
    ['MB', 0.9564, '| t | 0.96 MB | ≤ 1.00 MB | met |', 1],
    ['ms', 123.4, '| t | 123 ms | ≤ 150 ms | met |', 150],
  ] as const)('shows %s targets in their unit', (unit, measured, line, limit) => {
    const t: TargetResult = { id: 't', description: 't', comparison: '<=', limit, unit, measured, met: true };
    expect(targetsTable([t]).split('\n')[2]).toBe(line);
  });

  it('shows memory targets in MiB', () => {
    const t: TargetResult = { id: 'r', description: 'rss', comparison: '<=', limit: 128, unit: 'MiB', measured: 99.6, met: true };
    expect(targetsTable([t]).split('\n')[2]).toBe('| rss | 100 MiB | ≤ 128 MiB | met |');
  });
});

describe('formatReport', () => {
  it('prints the targets and a part for every section that ran', () => {
    const text = formatReport(fullResults());
    for (const heading of ['### Targets', '### PostgreSQL dump', '### End to end', '### Restore', '### Uploader', '### Redis 7', '### Orchestrator Lambda bundle']) {
      expect(text).toContain(heading);
    }
    expect(text).toContain('| ours | 8.00 | 33.6 | 35.8 | 3.00 | 100 | 1.25× |');
    expect(text).toContain('Manifest split (medians): dump 11.0 s');
    expect(text).toContain('| job part: stream | 10.50 |');
    expect(text).toContain('### Live database during the backup (PostgreSQL)');
    expect(text).toContain('| the job, low | 900 | 12.0 | 0.90× | 1.20× | 14.0 (load covered 80%) |');
    expect(text).not.toContain('### Failed sections');
  });

  it('leaves out the sections that did not run and lists the failed ones', () => {
    const r = fullResults();
    r.sections = { bundle: r.sections.bundle! };
    r.errors = { dump: 'pgbench failed\nlast lines of the log' };
    const text = formatReport(r);
    expect(text).not.toContain('### PostgreSQL dump');
    expect(text).not.toContain('### Uploader');
    expect(text).toContain('### Failed sections\n\n- dump: pgbench failed\n');
  });
});

describe('toJson', () => {
  it('writes the results so that they read back equal', () => {
    const r = fullResults();
    expect(JSON.parse(toJson(r))).toEqual(r);
    expect(toJson(r).endsWith('}\n')).toBe(true);
  });
});
