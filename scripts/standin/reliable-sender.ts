/** Retransmission constants and algorithm shared by the plugin and the agent (specs/ssm-data-channel.md §1.7). */
export const Retransmission = {
  /** How often the oldest unacked frame is looked at. */
  resendIntervalMs: 100,
  initialRtoMs: 200,
  initialRttMs: 100,
  maxRtoMs: 1000,
  minRttVarTermMs: 10,
} as const;

interface Pending {
  bytes: Buffer;
  /** Last time it went on the wire; undefined until first sent. */
  sentAt: number | undefined;
}

/** The agent's queue of sequenced frames not yet acknowledged, with the adaptive retransmission timeout. */
export class ReliableSender {
  private readonly pending = new Map<bigint, Pending>();
  private rtt: number = Retransmission.initialRttMs;
  private rttVar = 0;
  /** Current retransmission timeout in ms. */
  rto: number = Retransmission.initialRtoMs;

  /** Frames still waiting for their ack. */
  get size(): number {
    return this.pending.size;
  }

  /** Queues a frame (in sequence order). */
  add(seq: bigint, bytes: Buffer): void {
    this.pending.set(seq, { bytes, sentAt: undefined });
  }

  /** Records a transmission. */
  markSent(seq: bigint, now: number): void {
    const entry = this.pending.get(seq);
    if (entry) entry.sentAt = now;
  }

  /** Frames never sent yet, oldest first (sent when a client attaches). */
  unsent(): [bigint, Buffer][] {
    return [...this.pending].filter(([, p]) => p.sentAt === undefined).map(([seq, p]) => [seq, p.bytes]);
  }

  /** Drops an acked frame and updates RTT/RTO; false when that seq was not pending (a duplicate ack). */
  ack(seq: bigint, now: number): boolean {
    const entry = this.pending.get(seq);
    if (!entry) return false;
    this.pending.delete(seq);
    if (entry.sentAt !== undefined) {
      const sample = Math.max(0, now - entry.sentAt);
      this.rttVar = 0.75 * this.rttVar + 0.25 * Math.abs(this.rtt - sample);
      this.rtt = 0.875 * this.rtt + 0.125 * sample;
      this.rto = Math.min(Retransmission.maxRtoMs, this.rtt + Math.max(Retransmission.minRttVarTermMs, 4 * this.rttVar));
    }
    return true;
  }

  /** The oldest pending frame if it is due for a resend (sent more than RTO ago). */
  due(now: number): { seq: bigint; bytes: Buffer } | undefined {
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    const [seq, entry] = first.value;
    if (entry.sentAt === undefined || now - entry.sentAt <= this.rto) return undefined;
    return { seq, bytes: entry.bytes };
  }
}
