import { describe, expect, it } from 'vitest';
import type { BenchResults, UploadRow } from '../../scripts/bench/results.js';
import type { Row } from '../../scripts/bench/runner.js';
import { evaluateTargets, LIMITS } from '../../scripts/bench/targets.js';

const DB = { bytes: 1e9, pgbenchScale: 53, jsonRows: 606_061 };

function row(wallSeconds: number, extra: Partial<Row> = {}): Row {
  return { label: `row ${wallSeconds}`, wallSeconds, cpuSeconds: 1, serverCpuSeconds: 1, maxRssKiB: 10_240, bytes: null, ...extra };
}

function uploadRow(wallSeconds: number, rssMiB: number): UploadRow {
  return { label: 'u', wallSeconds, transferSeconds: null, cpuSeconds: 1, maxRssKiB: rssMiB * 1024, mbPerSecond: 1 };
}

function sections(o: { dump?: number; e2e?: number; uploads?: [number, number, number][] }): BenchResults['sections'] {
  return {
    ...(o.dump === undefined ? {} : { dump: { database: DB, floor: row(10), naive: row(40), job: row(10 * o.dump), parts: [] } }),
    ...(o.e2e === undefined
      ? {}
      : { e2e: { database: DB, floor: row(10), median: { wallSeconds: 10 * o.e2e, dumpSeconds: 1, afterDumpSeconds: 1, uploadSeconds: 1, objectBytes: 1 }, runs: [] } }),
    ...(o.uploads === undefined
      ? {}
      : {
          upload: {
            partSizeMiB: 16,
            concurrency: 4,
            awsVersion: 'aws-cli/2',
            nodeBaselineRssKiB: 50_000,
            // [size, our speed relative to aws, our RSS MiB]
            sizes: o.uploads.map(([sizeMiB, speed, rss]) => ({ sizeMiB, ours: uploadRow(10 / speed, rss), libStorage: uploadRow(10, 200), aws: uploadRow(10, 80) })),
          },
        }),
  };
}

describe('evaluateTargets', () => {
  it.each([
    [1.0, true],
    [LIMITS.dumpVsFloor, true],
    [1.16, false],
  ])('says a dump at %f× the floor meets the target: %s', (ratio, met) => {
    const t = evaluateTargets(sections({ dump: ratio }), []).find((x) => x.id === 'dump-vs-floor')!;
    expect(t.measured).toBeCloseTo(ratio, 10);
    expect(t.met).toBe(met);
  });

  it.each([
    [1.39, true],
    [1.41, false],
  ])('says end to end at %f× the floor meets the target: %s', (ratio, met) => {
    expect(evaluateTargets(sections({ e2e: ratio }), []).find((x) => x.id === 'e2e-vs-floor')).toMatchObject({ met, comparison: '<=', limit: 1.4 });
  });

  it('evaluates throughput and peak RSS of the uploader at every size', () => {
    const targets = evaluateTargets(sections({ uploads: [[256, 1.2, 90], [1024, 0.9, 129]] }), [256, 1024]);
    expect(targets.filter((t) => t.id.startsWith('upload')).map((t) => [t.id, Number(t.measured!.toFixed(2)), t.met])).toEqual([
      ['upload-throughput-256mib', 1.2, true],
      ['upload-rss-256mib', 90, true],
      ['upload-throughput-1024mib', 0.9, false],
      ['upload-rss-1024mib', 129, false],
    ]);
  });

  it('lists the targets of sections that did not run as not measured, the upload ones for the configured sizes', () => {
    const targets = evaluateTargets({}, [16, 32]);
    expect(targets.map((t) => [t.id, t.measured, t.met])).toEqual([
      ['dump-vs-floor', null, null],
      ['upload-throughput-16mib', null, null],
      ['upload-rss-16mib', null, null],
      ['upload-throughput-32mib', null, null],
      ['upload-rss-32mib', null, null],
      ['e2e-vs-floor', null, null],
      ['e2e-upload-resumed', null, null],
      ['drill-vs-restore', null, null],
      ['backup-digests-vs-counts', null, null],
      ['impact-tps-vs-none', null, null],
      ['impact-tps-vs-naive', null, null],
      ['bundle-size', null, null],
      ['cold-import', null, null],
    ]);
  });

  it.each([
    [999_999, 149, true, true],
    [1_000_001, 151, false, false],
  ])('says a bundle of %i bytes and a cold import of %i ms meet the targets: %s, %s', (bytes, importNetMs, sizeMet, importMet) => {
    const bundle = { bytes, entryBytes: 1, files: 2, gzipBytes: 1, importRuns: 10, nodeBaselineMs: 30, importMs: importNetMs + 30, importNetMs };
    const targets = evaluateTargets({ bundle }, []);
    expect(targets.find((t) => t.id === 'bundle-size')).toMatchObject({ met: sizeMet, unit: 'MB', limit: 1 });
    expect(targets.find((t) => t.id === 'cold-import')).toMatchObject({ met: importMet, unit: 'ms', limit: 150 });
  });

  it.each([
    [900, 800, true, true],
    [840, 860, false, false],
  ])('says pgbench at %i TPS during the job (1000 alone, %i during the naive dump) meets the targets: %s, %s', (job, naive, vsNone, vsNaive) => {
    const r = (label: string, tps: number) => ({ label, tps, p99Ms: 1, backupSeconds: 1, covered: 1 });
    const impact = { clients: 2, loadSeconds: 10, floorSeconds: 1, rows: [r('none', 1000), r('naive', naive), r('job', job), r('normal', 500)] };
    const targets = evaluateTargets({ impact }, []);
    expect(targets.find((t) => t.id === 'impact-tps-vs-none')).toMatchObject({ met: vsNone, comparison: '>=', limit: 0.85 });
    expect(targets.find((t) => t.id === 'impact-tps-vs-naive')).toMatchObject({ met: vsNaive, comparison: '>=', limit: 1 });
  });

  it('treats a ratio that is not a finite number as not measured', () => {
    const s = sections({ dump: 1 });
    s.dump!.floor = row(0);
    expect(evaluateTargets(s, []).find((t) => t.id === 'dump-vs-floor')).toMatchObject({ measured: null, met: null });
  });
});
