import type { ECSClient } from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChannelClosedError, ConnectionLostError } from '../../functions/shared/exec/errors.js';
import { EcsExec } from '../../functions/shared/exec/exec-client.js';
import { REAL_AGENT_TIMINGS, type Standin, type StandinFaults } from '../../scripts/standin/index.js';
import { NAMES, TASK_ID, execClientsFor, oneTaskDefinition, startStandinWithClient } from '../helpers/standin.js';

let standin: Standin;
let ecs: ECSClient;
let exec: EcsExec;

beforeAll(async () => {
  ({ standin, ecs } = await startStandinWithClient(oneTaskDefinition()));
  exec = new EcsExec({ ...execClientsFor(standin, ecs), retry: { baseDelayMs: 10 } });
});
beforeEach(() => standin.setFaults({}));
afterAll(async () => {
  ecs.destroy();
  await standin.stop();
});

const run = (script: string, faults: StandinFaults) => {
  standin.setFaults(faults);
  return exec.run({ cluster: NAMES.cluster, task: TASK_ID, container: NAMES.container, script, timeoutMs: 30_000 });
};

// About 12 frames of output with multi-byte characters cut across frame boundaries.
const MANY_FRAMES = 'i=0; while [ $i -lt 120 ]; do printf "line %03d: ünïcödé ✓ %s\\n" $i "$(printf "%0.sx" 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70)"; i=$((i+1)); done; exit 7';
const EXPECTED = Array.from({ length: 120 }, (_, i) => `line ${String(i).padStart(3, '0')}: ünïcödé ✓ ${'x'.repeat(70)}\n`).join('');

describe('ECS Exec through a faulty stand-in', () => {
  it.each([
    ['every frame duplicated', { duplicateRate: 1 }],
    ['frames reordered', { reorderRate: 0.5, seed: 2 }],
    ['frames delayed', { maxDelayMs: 60, seed: 3 }],
    ['all three at once', { duplicateRate: 0.3, reorderRate: 0.3, maxDelayMs: 30, seed: 4 }],
  ])('returns exactly the output with %s', async (_name, faults) => {
    expect(await run(MANY_FRAMES, faults)).toMatchObject({ output: EXPECTED, exitCode: 7, droppedBytes: 0 });
  });

  it('returns exactly the output under random duplicate/reorder/delay schedules', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          duplicateRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
          reorderRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
          maxDelayMs: fc.integer({ min: 0, max: 40 }),
          seed: fc.integer({ min: 1, max: 1_000_000 }),
        }),
        async (faults) => {
          expect(await run(MANY_FRAMES, faults)).toMatchObject({ output: EXPECTED, exitCode: 7 });
        },
      ),
      { numRuns: 6 },
    );
  });

  it('fails with ConnectionLostError when the connection drops mid-output', async () => {
    await expect(run(MANY_FRAMES, { dropConnectionAfterFrames: 3 })).rejects.toBeInstanceOf(ConnectionLostError);
  });

  it('fails with ChannelClosedError carrying the service text when channel_closed has an error', async () => {
    const text = 'Plugin with name InteractiveCommands not found. Step name: InteractiveCommands';
    const error = await run('echo never', { errorChannelClosed: text }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChannelClosedError);
    expect((error as ChannelClosedError).serviceOutput).toBe(text);
  });

  it('retries TargetNotConnectedException and then succeeds', async () => {
    const before = standin.calls.filter((c) => c.operation === 'ExecuteCommand').length;
    expect(await run('echo connected', { targetNotConnectedCalls: 2 })).toMatchObject({ output: 'connected\n', exitCode: 0 });
    expect(standin.calls.filter((c) => c.operation === 'ExecuteCommand').length - before).toBe(3);
  });

  it('succeeds when the agent acks the terminal size late (slow pty start)', async () => {
    expect(await run('echo a; sleep 1; echo b', { slowPtyStartMs: 600 })).toMatchObject({ output: 'a\nb\n', exitCode: 0 });
  });

  it('ignores start_publication and pause_publication with broken lengths and digests', async () => {
    expect(await run(MANY_FRAMES, { startPublication: true, pausePublication: true })).toMatchObject({ output: EXPECTED, exitCode: 7 });
  });

  it('finishes with the output when channel_closed never comes', async () => {
    expect(await run('echo done; exit 5', { noChannelClosed: true })).toMatchObject({ output: 'done\n', exitCode: 5 });
  });
});

describe('ECS Exec against the real agent timings', () => {
  it('waits out 1 s of initial silence and paced frames, returning the exact output', async () => {
    const slow = await startStandinWithClient(oneTaskDefinition(), { timings: REAL_AGENT_TIMINGS });
    try {
      const client = new EcsExec(execClientsFor(slow.standin, slow.ecs));
      const result = await client.run({ cluster: NAMES.cluster, task: TASK_ID, container: NAMES.container, script: MANY_FRAMES, timeoutMs: 30_000 });
      expect(result).toMatchObject({ output: EXPECTED, exitCode: 7 });
    } finally {
      slow.ecs.destroy();
      await slow.standin.stop();
    }
  });
});
