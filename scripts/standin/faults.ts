/** Faults the stand-in injects; every field is off when absent. */
export interface StandinFaults {
  /** Probability that an output frame is sent twice. */
  duplicateRate?: number;
  /** Probability that an output frame is held back and sent after the next one. */
  reorderRate?: number;
  /** Each output frame transmission is delayed by a random 0..maxDelayMs. */
  maxDelayMs?: number;
  /** Seed of the fault RNG (default 1), so schedules are reproducible. */
  seed?: number;
  /** Close the WebSocket abruptly after this many output frames were sent. */
  dropConnectionAfterFrames?: number;
  /** At the end, send no channel_closed: the socket stays open and silent. */
  noChannelClosed?: boolean;
  /** Send pause_publication then start_publication after the first output frame (clients must ignore both). */
  pausePublication?: boolean;
  /** The command does not run; the session ends with channel_closed carrying this Output (PayloadType 261). */
  errorChannelClosed?: string;
  /** Do not ack Size input until this long after the pty started (the agent's ErrHandlerNotReady). */
  slowPtyStartMs?: number;
  /** Probability that an ECS API call fails with ThrottlingException ("Rate exceeded", HTTP 400), as ECS answers over its request rate. */
  throttleRate?: number;
  /** ExecuteCommand fails with TargetNotConnectedException this many times first. */
  targetNotConnectedCalls?: number;
  /** Send a start_publication with a wrong PayloadLength and digest before anything else. */
  startPublication?: boolean;
  /** KMS sessions: the agent uses the data key's halves the wrong way round (the client cannot open its challenge). */
  kmsWrongKeyHalves?: boolean;
  /** KMS sessions: flip one ciphertext bit of this encrypted output frame (0 = the first), digest recomputed. */
  corruptCiphertextFrame?: number;
}

/** A small seeded PRNG (mulberry32): same seed, same fault schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Sends frames over a link while applying the duplicate/reorder/delay faults. With no faults it sends
 * synchronously and in order.
 */
export class FaultySender {
  private readonly random: () => number;
  private held: Buffer | undefined;
  private heldTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly faults: StandinFaults,
    private readonly deliver: (bytes: Buffer) => void,
  ) {
    this.random = seededRandom(faults.seed ?? 1);
  }

  /** Sends one frame, possibly late, twice, or after the next one. */
  send(bytes: Buffer): void {
    const { duplicateRate = 0, reorderRate = 0, maxDelayMs = 0 } = this.faults;
    const delay = maxDelayMs > 0 ? Math.floor(this.random() * maxDelayMs) : 0;
    const duplicate = duplicateRate > 0 && this.random() < duplicateRate;
    const reorder = reorderRate > 0 && this.random() < reorderRate;
    if (reorder && this.held === undefined) {
      this.held = bytes;
      this.heldTimer = setTimeout(() => this.release(), 30);
      return;
    }
    this.dispatch(bytes, delay);
    if (duplicate) this.dispatch(bytes, delay + (maxDelayMs > 0 ? Math.floor(this.random() * maxDelayMs) : 0));
    this.release();
  }

  /** Cancels everything still scheduled. */
  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.held = undefined;
  }

  private release(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    const held = this.held;
    this.held = undefined;
    if (held) this.dispatch(held, 0);
  }

  private dispatch(bytes: Buffer, delay: number): void {
    if (delay <= 0) {
      this.deliver(bytes);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.deliver(bytes);
    }, delay);
    this.timers.add(timer);
  }
}
