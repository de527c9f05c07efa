/** One finished transaction of a load generator: when it ended (epoch seconds) and how long it took (ms). */
export interface Transaction {
  endSeconds: number;
  latencyMs: number;
}

/** Throughput and tail latency of the transactions that ended within a time window. */
export interface WindowStats {
  transactions: number;
  windowSeconds: number;
  tps: number;
  p99Ms: number;
}

/**
 * Reads pgbench's per-transaction log (`-l`): `client_id transaction_no time script_no time_epoch time_us [lag]`,
 * `time` being the latency in microseconds and the epoch pair the moment the transaction ended. Lines of failed
 * or skipped transactions (`time` not a number) are left out.
 */
export function parsePgbenchLog(text: string): Transaction[] {
  const out: Transaction[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const latencyUs = Number(f[2]);
    const epoch = Number(f[4]);
    const us = Number(f[5]);
    if (!Number.isFinite(latencyUs) || !Number.isFinite(epoch) || !Number.isFinite(us)) continue;
    out.push({ endSeconds: epoch + us / 1e6, latencyMs: latencyUs / 1000 });
  }
  return out;
}

/** The q-quantile (0..1) of values by the nearest-rank method; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** TPS and p99 latency of the transactions that ended in [from, to] (epoch seconds). */
export function windowStats(transactions: readonly Transaction[], from: number, to: number): WindowStats {
  const inside = transactions.filter((t) => t.endSeconds >= from && t.endSeconds <= to);
  const windowSeconds = Math.max(0, to - from);
  return {
    transactions: inside.length,
    windowSeconds,
    tps: windowSeconds > 0 ? inside.length / windowSeconds : NaN,
    p99Ms: quantile(inside.map((t) => t.latencyMs), 0.99),
  };
}
