import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDataChannel } from '../../functions/shared/exec/data-channel.js';
import { PayloadType, type Frame } from '../../functions/shared/exec/frame.js';
import { startFakeAgentPeer, type FakeAgentPeer } from '../helpers/fake-agent-peer.js';

/**
 * Whatever the network does to the agent's frames (duplicates, reordering, delays, losses that the agent
 * repairs by retransmitting), the client hands on exactly the bytes the command printed, in order, once.
 */

let peer: FakeAgentPeer;
let ackSizeNow = true;

beforeAll(async () => {
  // Drops the client's Size frame the first few times, so its retransmission runs under the same schedules.
  let sizeSeen = 0;
  peer = await startFakeAgentPeer({
    token: 't',
    ackInput: (frame) => frame.payloadType !== PayloadType.Size || ackSizeNow || ++sizeSeen % 3 === 0,
  });
});

afterAll(async () => {
  await peer.close();
});

/** For each frame: how many copies go out (0 = lost, repaired by retransmission) and after which delays. */
const scheduleArbitrary = fc.array(
  fc.record({
    payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    delays: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 0, maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 25 },
);

describe('data channel under adverse delivery', () => {
  it('outputs exactly the concatenated payloads', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArbitrary, fc.boolean(), async (schedule, ackSize) => {
        ackSizeNow = ackSize;
        const chunks: Buffer[] = [];
        const result = runDataChannel({ streamUrl: peer.url, tokenValue: 't', onOutput: (c) => chunks.push(c), deadline: Date.now() + 30_000 });
        const connection = await peer.nextConnection();
        await connection.opened();
        const frames: Frame[] = schedule.map((s) => connection.output(Buffer.from(s.payload)));
        const timers = schedule.flatMap((s, i) => s.delays.map((delay) => setTimeout(() => connection.send(frames[i] as Frame), delay)));
        // The agent resends what stays unacked (its RTO starts at 200 ms), which repairs lost frames.
        const resend = setInterval(() => {
          for (const frame of frames) if (!connection.ackCounts.has(frame.sequenceNumber)) connection.send(frame);
        }, 200);
        try {
          for (const frame of frames) await connection.waitForAck(frame.sequenceNumber);
        } finally {
          clearInterval(resend);
          for (const timer of timers) clearTimeout(timer);
        }
        connection.sendChannelClosed();
        await expect(result).resolves.toEqual({ endedBy: 'channel_closed' });
        expect(Buffer.concat(chunks).equals(Buffer.concat(schedule.map((s) => Buffer.from(s.payload))))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
