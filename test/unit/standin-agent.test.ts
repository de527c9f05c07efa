import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Flags, MessageType, PayloadType } from '../../functions/shared/exec/frame.js';
import type { AgentTimings, Standin, StandinContainer, StandinFaults } from '../../scripts/standin/index.js';
import { isAlive } from '../helpers/exec.js';
import { execute, oneTaskDefinition, rawSession, startStandinWithClient, type RawSessionOptions, type RawSessionResult } from '../helpers/standin.js';

let standin: Standin | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await standin?.stop();
  standin = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

type RunOptions = { container?: Partial<StandinContainer>; faults?: StandinFaults; client?: RawSessionOptions; timings?: Partial<AgentTimings> };

async function run(command: string, options: RunOptions = {}) {
  const definition = oneTaskDefinition(options.container);
  const started = await startStandinWithClient(definition, { faults: options.faults, timings: options.timings });
  standin = started.standin;
  const session = await execute(started.ecs, command);
  started.ecs.destroy();
  const result = await rawSession(session.streamUrl, session.token, { timeoutMs: 15_000, ...options.client });
  return { ...result, text: result.output.toString('utf8'), session };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const sh = (script: string) => `/bin/sh -c '${script.replaceAll("'", `'"'"'`)}'`;

describe('stand-in agent: running the command', () => {
  it('merges stdout and stderr under a pty with \\r\\n line ends, then closes the channel', async () => {
    const result = await run(sh('echo out; echo err >&2; exit 3'));
    expect(result.text).toBe('out\r\nerr\r\n');
    expect(result.channelClosed).toEqual({ Output: '', payloadType: 0 });
    expect(result.closeCode).toBe(1000);
    expect(standin?.activeSessions()).toBe(0);
  });

  it('numbers output frames from 0 with SYN only on the first, at most 1 KiB each', async () => {
    const result = await run(sh('head -c 5000 /dev/zero | tr "\\0" x'));
    const data = result.frames.filter((f) => f.messageType === MessageType.OutputStreamData);
    expect(data.map((f) => f.sequenceNumber)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(data.map((f) => f.flags)).toEqual([Flags.Syn, Flags.None, Flags.None, Flags.None, Flags.None]);
    expect(data.map((f) => f.payload.length)).toEqual([1024, 1024, 1024, 1024, 904]);
    expect(result.text).toBe('x'.repeat(5000));
  });

  it('paces frames like the agent when asked to, still delivering every byte', async () => {
    const result = await run(sh('head -c 300000 /dev/zero | tr "\\0" y; echo'), { timings: { frameIntervalMs: 1 } });
    expect(result.text).toBe(`${'y'.repeat(300_000)}\r\n`);
    const sizes = result.frames.filter((f) => f.messageType === MessageType.OutputStreamData).map((f) => f.payload.length);
    expect(Math.max(...sizes)).toBe(1024);
  });

  it('splits the command like shlex, without a shell', async () => {
    const result = await run(`echo '$HOME' "a  b" c\\ d #not printed`);
    expect(result.text).toBe('$HOME a  b c d\r\n');
  });

  it('gives the command the container env plus TERM and LANG', async () => {
    const result = await run(sh('echo "$DB_NAME|$TERM|$LANG"'), { container: { env: { DB_NAME: 'app' } } });
    expect(result.text).toBe('app|xterm-256color|C.UTF-8\r\n');
  });

  it('starts the command before any client connects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'standin-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const started = await startStandinWithClient(oneTaskDefinition());
    standin = started.standin;
    const session = await execute(started.ecs, sh(`echo ran > ${dir}/marker`));
    started.ecs.destroy();
    await waitFor(() => existsSync(join(dir, 'marker')), 'the command to run without a client');
    const result = await rawSession(session.streamUrl, session.token);
    expect(result.channelClosed?.Output).toBe('');
  });

  it('bind-mounts host directories at the container paths', async () => {
    const host = mkdtempSync(join(tmpdir(), 'standin-host-'));
    cleanups.push(() => rmSync(host, { recursive: true, force: true }));
    const result = await run(sh('echo dump > /standin-test/backup/file && cat /standin-test/backup/file'), { container: { mounts: { '/standin-test/backup': host } } });
    expect(result.text).toBe('dump\r\n');
    expect(readFileSync(join(host, 'file'), 'utf8')).toBe('dump\n');
  });

  it('runs busybox as /bin/sh in a busybox container', async () => {
    const result = await run(sh('/bin/sh --help 2>&1 | head -n 1 | cut -d " " -f 1'), { container: { shell: 'busybox' } });
    expect(result.text).toBe('BusyBox\r\n');
  });

  it('keeps the session open while a background child still holds the pty', async () => {
    const result = await run(sh('trap "" HUP; (sleep 1; echo late) & echo early'));
    expect(result.text).toBe('early\r\nlate\r\n');
  });

  it('ends the session while a detached setsid job keeps running', async () => {
    const result = await run(sh('setsid nohup sleep 60 </dev/null >/dev/null 2>&1 & echo $!'));
    const pid = Number(result.text.trim());
    cleanups.push(() => process.kill(pid, 'SIGKILL'));
    expect(result.timedOut).toBe(false);
    expect(isAlive(pid)).toBe(true);
  });

  it('hangs up a plain background job when the command exits', async () => {
    const result = await run(sh('sleep 60 & echo $!'));
    const pid = Number(result.text.trim());
    await waitFor(() => !isAlive(pid), 'the background job to get SIGHUP');
    expect(isAlive(pid)).toBe(false);
  });

  it('kills the running command when the stand-in stops', async () => {
    const started = await startStandinWithClient(oneTaskDefinition());
    const dir = mkdtempSync(join(tmpdir(), 'standin-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await execute(started.ecs, sh(`echo $$ > ${dir}/pid; exec sleep 60`));
    started.ecs.destroy();
    await waitFor(() => existsSync(join(dir, 'pid')) && readFileSync(join(dir, 'pid'), 'utf8').endsWith('\n'), 'the pid file');
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    expect(started.standin.activeSessions()).toBe(1);
    await started.standin.stop();
    await waitFor(() => !isAlive(pid), 'the command to be killed');
    expect(started.standin.activeSessions()).toBe(0);
  });
});

describe('stand-in agent: the data channel', () => {
  it('closes a connection whose token is wrong, without sending anything', async () => {
    const result = await run('true', { client: { token: 'wrong' } });
    expect(result.closeCode).toBe(1008);
    expect(result.frames).toEqual([]);
  });

  it('accepts only one connection per session', async () => {
    const started = await startStandinWithClient(oneTaskDefinition());
    standin = started.standin;
    const session = await execute(started.ecs, sh('sleep 2; echo done'));
    started.ecs.destroy();
    // the second connection starts once the first has sent its token, not after a guessed delay
    let first!: Promise<RawSessionResult>;
    await new Promise<void>((opened) => {
      first = rawSession(session.streamUrl, session.token, { onOpen: opened });
    });
    const second = await new Promise<number>((resolve) => {
      const ws = new WebSocket(session.streamUrl);
      ws.on('open', () => ws.send(JSON.stringify({ TokenValue: session.token })));
      ws.on('close', (code) => resolve(code));
    });
    expect(second).toBe(1008);
    expect((await first).output.toString()).toBe('done\r\n');
  });

  it('retransmits output frames that are not acked', async () => {
    const result = await run(sh('echo one; echo two'), { client: { withholdAcks: 1 } });
    const seqs = result.frames.filter((f) => f.messageType === MessageType.OutputStreamData).map((f) => f.sequenceNumber);
    expect(seqs.filter((s) => s === 0n).length).toBeGreaterThan(1);
    expect(result.text).toBe('one\r\ntwo\r\n');
  });

  it('acks Size input only once the pty has "started", so the client must retransmit it', async () => {
    const result = await run(sh('echo a; sleep 2.5; echo b'), { faults: { slowPtyStartMs: 2000 }, client: { sendSize: true } });
    const acks = result.frames.filter((f) => f.messageType === MessageType.Acknowledge).map((f) => JSON.parse(f.payload.toString()) as Record<string, unknown>);
    expect(acks).toContainEqual(expect.objectContaining({ AcknowledgedMessageType: 'input_stream_data', AcknowledgedMessageSequenceNumber: 0 }));
    expect(result.inputSends).toBeGreaterThan(1);
    expect(result.text).toBe('a\r\nb\r\n');
  });
});

describe('stand-in agent: faults', () => {
  const lines = sh('for i in 1 2 3 4 5 6 7 8; do head -c 700 /dev/zero | tr "\\0" $i; echo; done');
  const expected = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `${String(i).repeat(700)}\r\n`).join('');

  it.each([
    ['duplicated', { duplicateRate: 1 }],
    ['reordered', { reorderRate: 0.5, seed: 3 }],
    ['delayed', { maxDelayMs: 80, seed: 5 }],
    ['duplicated, reordered and delayed', { duplicateRate: 0.3, reorderRate: 0.3, maxDelayMs: 40, seed: 11 }],
  ])('still delivers exactly the output when frames are %s', async (_name, faults) => {
    const result = await run(lines, { faults });
    expect(result.text).toBe(expected);
  });

  it('sends every output frame twice at duplicate rate 1', async () => {
    const result = await run(lines, { faults: { duplicateRate: 1 } });
    const seqs = result.frames.filter((f) => f.messageType === MessageType.OutputStreamData).map((f) => Number(f.sequenceNumber));
    expect(seqs.slice(0, 4)).toEqual([0, 0, 1, 1]);
  });

  it('sends frames out of order at reorder rate 1', async () => {
    const result = await run(lines, { faults: { reorderRate: 1 } });
    const seqs = result.frames.filter((f) => f.messageType === MessageType.OutputStreamData).map((f) => Number(f.sequenceNumber));
    expect(seqs.slice(0, 2)).toEqual([1, 0]);
  });

  it('drops the connection after N frames, without channel_closed', async () => {
    const result = await run(lines, { faults: { dropConnectionAfterFrames: 2 } });
    expect(result.closeCode).toBe(1006);
    expect(result.channelClosed).toBeUndefined();
    expect(result.frames.filter((f) => f.messageType === MessageType.OutputStreamData).length).toBe(2);
  });

  it('leaves the socket open and silent instead of sending channel_closed', async () => {
    const result = await run(sh('echo hi'), { faults: { noChannelClosed: true }, client: { timeoutMs: 3000 } });
    expect(result.text).toBe('hi\r\n');
    expect(result.timedOut).toBe(true);
    expect(result.channelClosed).toBeUndefined();
  });

  it('ends with an error channel_closed (PayloadType 261) instead of running the command', async () => {
    const result = await run(sh('echo never'), { faults: { errorChannelClosed: 'Plugin with name InteractiveCommands not found. Step name: InteractiveCommands' } });
    expect(result.text).toBe('');
    expect(result.channelClosed).toEqual({ Output: 'Plugin with name InteractiveCommands not found. Step name: InteractiveCommands', payloadType: 261 });
  });

  it('sends start_publication first and pause/start_publication after the first output, with broken lengths and digests', async () => {
    const result = await run(sh('echo hi'), { faults: { startPublication: true, pausePublication: true } });
    const types = result.frames.map((f) => f.messageType);
    expect(types[0]).toBe(MessageType.StartPublication);
    expect(types).toContain(MessageType.PausePublication);
    expect(types.filter((t) => t === MessageType.StartPublication)).toHaveLength(2);
    expect(result.text).toBe('hi\r\n');
  });
});
