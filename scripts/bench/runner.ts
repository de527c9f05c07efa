import { median, type Timing } from './timed.js';
import { readServerCpu, serverCpuSince } from './server-cpu.js';

/** One measured run of a plan: its timing and the size of what it wrote (null when it wrote nowhere we can see). */
export interface Sample extends Timing {
  bytes: number | null;
}

/** A command to measure: `run` does one repetition (and removes what it wrote). */
export interface Plan {
  label: string;
  run(): Promise<Sample>;
}

/** Medians over the repetitions of one plan, with the server's CPU (seconds) spent while it ran. */
export interface Row extends Sample {
  label: string;
  serverCpuSeconds: number;
}

/**
 * Runs every plan `repeats` times, round robin (so drift on a noisy machine hits every plan alike), reading the
 * server's CPU around each run; returns the median of every field per plan, in plan order.
 */
export async function runPlans(plans: readonly Plan[], repeats: number, serverPid: number, log: (line: string) => void): Promise<Row[]> {
  const samples = plans.map(() => [] as (Sample & { serverCpuSeconds: number })[]);
  for (let round = 1; round <= repeats; round++) {
    for (const [i, plan] of plans.entries()) {
      const before = await readServerCpu(serverPid);
      const sample = await plan.run();
      const server = await serverCpuSince(serverPid, before);
      samples[i]!.push({ ...sample, serverCpuSeconds: server });
      log(`  [${round}/${repeats}] ${plan.label}: ${sample.wallSeconds.toFixed(2)} s wall, ${sample.cpuSeconds.toFixed(2)} + ${server.toFixed(2)} s CPU`);
    }
  }
  return plans.map((plan, i) => {
    const runs = samples[i]!;
    const m = (pick: (s: (typeof runs)[number]) => number) => median(runs.map(pick));
    const sizes = runs.map((s) => s.bytes).filter((b): b is number => b !== null);
    return {
      label: plan.label,
      wallSeconds: m((s) => s.wallSeconds),
      cpuSeconds: m((s) => s.cpuSeconds),
      serverCpuSeconds: m((s) => s.serverCpuSeconds),
      maxRssKiB: m((s) => s.maxRssKiB),
      bytes: sizes.length > 0 ? median(sizes) : null,
    };
  });
}

/** A Markdown table of rows, with wall and total CPU (client + server) as ratios to the first row. */
export function rowsTable(rows: readonly Row[], baseName: string): string {
  const base = rows[0]!;
  const total = (r: Row) => r.cpuSeconds + r.serverCpuSeconds;
  const lines = [
    `| command | wall s | client CPU s | server CPU s | client peak RSS MiB | output MiB | wall vs ${baseName} | total CPU vs ${baseName} |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const size = r.bytes === null ? '—' : (r.bytes / 1024 / 1024).toFixed(1);
    lines.push(
      `| ${r.label.replaceAll('|', '\\|')} | ${r.wallSeconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${r.serverCpuSeconds.toFixed(2)} | ${(r.maxRssKiB / 1024).toFixed(0)} | ${size} | ` +
        `${(r.wallSeconds / base.wallSeconds).toFixed(2)} | ${(total(r) / total(base)).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}
