/**
 * Adaptive retransmission timeout of the SSM data channel (specs/ssm-data-channel.md §1.7), the same
 * estimator as the agent and the session-manager-plugin: RTT starts at 100 ms, RTTVAR at 0, RTO at 200 ms.
 */

/** Constants of the retransmission estimator, in milliseconds. */
export const RtoDefaults = {
  initialRttMs: 100,
  initialRtoMs: 200,
  minVarianceTermMs: 10,
  maxRtoMs: 1000,
  resendCheckIntervalMs: 100,
} as const;

/** Round-trip estimator; `rtoMs` is how long an unacknowledged frame waits before it is sent again. */
export class RetransmissionTimer {
  private rttMs: number = RtoDefaults.initialRttMs;
  private rttVarMs = 0;
  /** Current retransmission timeout. */
  rtoMs: number = RtoDefaults.initialRtoMs;

  /** Feeds one round-trip sample (time from the last send of a frame to its acknowledgement). */
  update(sampleMs: number): void {
    const sample = Math.max(0, sampleMs);
    this.rttVarMs = 0.75 * this.rttVarMs + 0.25 * Math.abs(this.rttMs - sample);
    this.rttMs = 0.875 * this.rttMs + 0.125 * sample;
    this.rtoMs = Math.min(RtoDefaults.maxRtoMs, this.rttMs + Math.max(RtoDefaults.minVarianceTermMs, 4 * this.rttVarMs));
  }
}
