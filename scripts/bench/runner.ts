import { median, type Timing } from './timed.js';
import { readServerCpu, serverCpuSince } from './server-cpu.js';

/** One measured run of a plan: its timing and the size of what it wrote (null when it wrote nowhere we can see). */
export interface Sample extends Timing {
  bytes: number | null;
}

/** A command to measure: `run` does one repetition (and removes what it wrote). */
export interface Plan<S extends Sample = Sample> {
  label: string;
  run(): Promise<S>;
}

/** Medians over the repetitions of one plan, with the server's CPU (seconds) spent while it ran. */
export interface Row extends Sample {
  label: string;
  serverCpuSeconds: number;
  /** The fastest and the slowest repetition's wall time: the spread behind the median. */
  wallRange?: [number, number];
}

/**
 * Runs every plan `repeats` times, round robin, every other round backwards (so drift on a noisy machine hits every plan alike), reading the
 * server's CPU around each run (none without `serverPid`); resolves to every plan's samples, in plan order.
 */
export async function roundRobin<S extends Sample>(
  plans: readonly Plan<S>[],
  repeats: number,
  serverPid: number | null,
  log: (line: string) => void,
): Promise<(S & { serverCpuSeconds: number })[][]> {
  const samples = plans.map(() => [] as (S & { serverCpuSeconds: number })[]);
  for (let round = 1; round <= repeats; round++) {
    // Every other round runs backwards, so no plan always follows the same one (whose leftovers, such as dirty pages
    // or a busy server, it would always pay for).
    const order = plans.map((_, k) => (round % 2 === 1 ? k : plans.length - 1 - k));
    for (const i of order) {
      const plan = plans[i]!;
      const before = serverPid === null ? null : await readServerCpu(serverPid);
      const sample = await plan.run();
      const server = serverPid === null || before === null ? 0 : await serverCpuSince(serverPid, before);
      samples[i]!.push({ ...sample, serverCpuSeconds: server });
      const serverText = serverPid === null ? '' : ` + ${server.toFixed(2)} server`;
      // A plan not run under /usr/bin/time (the e2e Lambda) reports wall time only.
      const usage = sample.maxRssKiB > 0 ? `, ${sample.cpuSeconds.toFixed(2)}${serverText} s CPU, ${(sample.maxRssKiB / 1024).toFixed(0)} MiB RSS` : '';
      log(`  [${round}/${repeats}] ${plan.label}: ${sample.wallSeconds.toFixed(2)} s wall${usage}`);
    }
  }
  return samples;
}

/** The median of every field of one plan's samples. */
export function medianRow(label: string, runs: readonly (Sample & { serverCpuSeconds: number })[]): Row {
  const m = (pick: (s: Sample & { serverCpuSeconds: number }) => number) => median(runs.map(pick));
  const sizes = runs.map((s) => s.bytes).filter((b): b is number => b !== null);
  return {
    label,
    wallSeconds: m((s) => s.wallSeconds),
    wallRange: [Math.min(...runs.map((s) => s.wallSeconds)), Math.max(...runs.map((s) => s.wallSeconds))],
    cpuSeconds: m((s) => s.cpuSeconds),
    serverCpuSeconds: m((s) => s.serverCpuSeconds),
    maxRssKiB: m((s) => s.maxRssKiB),
    bytes: sizes.length > 0 ? median(sizes) : null,
  };
}

/** Runs the plans round robin and returns one median row per plan, in plan order. */
export async function runPlans(plans: readonly Plan[], repeats: number, serverPid: number | null, log: (line: string) => void): Promise<Row[]> {
  const samples = await roundRobin(plans, repeats, serverPid, log);
  return plans.map((plan, i) => medianRow(plan.label, samples[i]!));
}
