import { describe, expect, it } from 'vitest';
import { ReliableSender } from '../../scripts/standin/reliable-sender.js';

const bytes = (s: string) => Buffer.from(s);

describe('ReliableSender', () => {
  it('is due for a resend only after the initial 200 ms RTO', () => {
    const sender = new ReliableSender();
    sender.add(0n, bytes('a'));
    sender.markSent(0n, 1000);
    expect(sender.due(1200)).toBeUndefined();
    expect(sender.due(1201)).toEqual({ seq: 0n, bytes: bytes('a') });
  });

  it('looks only at the oldest unacked frame', () => {
    const sender = new ReliableSender();
    sender.add(0n, bytes('a'));
    sender.add(1n, bytes('b'));
    sender.markSent(1n, 0);
    sender.markSent(0n, 900);
    expect(sender.due(1000)).toBeUndefined();
  });

  it('forgets acked frames and ignores duplicate acks', () => {
    const sender = new ReliableSender();
    sender.add(0n, bytes('a'));
    sender.markSent(0n, 0);
    expect(sender.ack(0n, 50)).toBe(true);
    expect(sender.ack(0n, 60)).toBe(false);
    expect(sender.size).toBe(0);
  });

  it.each([
    ['a 50 ms sample', [50], 100 * 0.875 + 50 * 0.125 + 4 * (0.25 * 50)],
    ['two 0 ms samples', [0, 0], 76.5625 + 4 * (0.75 * 25 + 0.25 * 87.5)],
    ['a 5 s sample (capped)', [5000], 1000],
  ])('adapts the RTO after %s', (_name, samples, rto) => {
    const sender = new ReliableSender();
    samples.forEach((sample, i) => {
      sender.add(BigInt(i), bytes('x'));
      sender.markSent(BigInt(i), 0);
      sender.ack(BigInt(i), sample);
    });
    expect(sender.rto).toBeCloseTo(rto, 6);
  });

  it('lists frames never sent, oldest first', () => {
    const sender = new ReliableSender();
    sender.add(0n, bytes('a'));
    sender.add(1n, bytes('b'));
    sender.add(2n, bytes('c'));
    sender.markSent(1n, 0);
    expect(sender.unsent()).toEqual([
      [0n, bytes('a')],
      [2n, bytes('c')],
    ]);
  });
});
