import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { TargetRunStatus } from '../../functions/orchestrator/run-status.js';
import { main, type StatusIo } from '../../scripts/status.js';
import { colourWanted } from '../../scripts/status/render.js';
import { BASE_CONFIG } from '../helpers/synth.js';
import { formatBytes, formatDuration, formatInZone } from '../../scripts/status/units.js';

/** The command line and its exit codes, with the SDK mocked (the integration test runs it against moto and the bundle). */

const dir = mkdtempSync(join(tmpdir(), 'status-cli-unit-'));
const config = join(dir, 'backup.config.json');
const pg = { ...BASE_CONFIG.targets[0], name: 'pg', timeZone: 'Europe/Dublin' };
writeFileSync(config, JSON.stringify({ ...BASE_CONFIG, keyPrefix: 'b/', targets: [pg] }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOW = new Date('2026-11-22T14:00:00Z');
const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);
let regions: string[] = [];

function fakeIo(o: { isTerminal?: boolean; env?: NodeJS.ProcessEnv } = {}): StatusIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTerminal: o.isTerminal ?? false,
    env: o.env ?? {},
    now: () => NOW,
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
  };
  return io;
}

const run = (args: string[], io = fakeIo()) =>
  main(['--config', config, ...args], io, (region) => {
    regions.push(region);
    return { s3: new S3Client({ region }), lambda: new LambdaClient({ region }) };
  });

function manifest(startedAt: string, size: number): string {
  return JSON.stringify({
    version: 1, target: 'pg', engine: 'postgres', key: 'b/pg/sunday.pgdump', weekday: 'sunday', size, sha256: 'a'.repeat(64),
    toolVersion: '15', runId: 'r', sourceTask: 't', startedAt, dumpEndedAt: startedAt, uploadedAt: startedAt, checks: [], counts: null,
    objectVersionId: 'v1', dumpSeconds: 11, uploadSeconds: 4,
  });
}

function withBackup(startedAt: string, size = 5 * 1024 * 1024): void {
  s3.on(ListObjectVersionsCommand).resolves({
    Versions: [
      { Key: 'b/pg/sunday.pgdump', VersionId: 'v1', IsLatest: true, Size: size, LastModified: new Date(startedAt) },
      { Key: 'b/pg/sunday.json', VersionId: 'm1', IsLatest: true, Size: 100, LastModified: new Date(startedAt) },
    ],
  });
  // readManifest only calls transformToString on the body.
  s3.on(GetObjectCommand).resolves({ Body: { transformToString: async () => manifest(startedAt, size) } as never });
}

function orchestratorSays(states: TargetRunStatus[]): void {
  lambda.on(InvokeCommand, { Payload: Buffer.from('{"action":"status"}') }).resolves({ Payload: Buffer.from(JSON.stringify({ action: 'status', targets: states })) as never });
}

const idle: TargetRunStatus = { target: 'pg', run: null, lastFailure: null, lastDrill: null, lastRestore: null };

beforeEach(() => {
  s3.reset();
  lambda.reset();
  regions = [];
});

describe('status command line', () => {
  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['--region', 'Ireland'], /--region must be an AWS region like "eu-west-1", got "Ireland"/],
    [['--target', 'nope'], /unknown target "nope": the config has pg/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const io = fakeIo();
    expect(await run(args, io)).toBe(2);
    expect(io.stderr).toMatch(message);
    expect(s3.calls()).toHaveLength(0);
  });

  it("uses --region over the config's", async () => {
    withBackup('2026-11-22T00:05:00.000Z');
    orchestratorSays([idle]);
    await run(['--region', 'us-west-2']);
    await run([]);
    expect(regions).toEqual(['us-west-2', 'eu-west-1']);
  });

  it('exits 0 when every target is healthy, and asks the orchestrator its read-only status action', async () => {
    withBackup('2026-11-22T00:05:00.000Z');
    orchestratorSays([idle]);
    const io = fakeIo();
    expect(await run([], io)).toBe(0);
    expect(io.stdout).toMatch(/^TARGET +HEALTH +LAST BACKUP +AGE +SIZE +TREND +DUMP +UPLOAD +NEXT DUE +RUN +LAST DRILL\npg +ok +sunday 2026-11-22 00:05Z +13h 55m +5\.0 MiB +- +11s +4s +2026-11-23 00:00 Europe\/Dublin +- +-\n$/);
    expect(lambda.commandCalls(InvokeCommand)[0]!.args[0].input).toMatchObject({ FunctionName: 'ecs-db-backup-orchestrator', InvocationType: 'RequestResponse' });
  });

  it('exits 1 when a target is unhealthy, with the reason under the table', async () => {
    withBackup('2026-11-19T00:05:00.000Z');
    orchestratorSays([idle]);
    const io = fakeIo();
    expect(await run([], io)).toBe(1);
    expect(io.stdout).toMatch(/^pg +stale .* now /m);
    expect(io.stdout).toContain('pg: stale: no backup since the one due at 2026-11-20 00:00Z');
  });

  it('still shows S3 when the orchestrator cannot be asked, warns, and exits 1', async () => {
    withBackup('2026-11-22T00:05:00.000Z');
    lambda.on(InvokeCommand).resolves({ FunctionError: 'Unhandled', Payload: Buffer.from('{"errorMessage":"unknown event"}') as never });
    const io = fakeIo();
    expect(await run(['--json'], io)).toBe(1);
    const out = JSON.parse(io.stdout) as { healthy: boolean; targets: { health: string; lastBackup: { size: number } }[] };
    expect(out).toMatchObject({ healthy: false, targets: [{ health: 'unknown', lastBackup: { size: 5 * 1024 * 1024 } }] });
    expect(io.stderr).toContain('warning: run state unavailable: ecs-db-backup-orchestrator answered with an error: unknown event');
  });

  it('exits 1 with the error when S3 cannot be read', async () => {
    s3.on(ListObjectVersionsCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    orchestratorSays([idle]);
    const io = fakeIo();
    expect(await run([], io)).toBe(1);
    expect(io.stderr).toBe('error: listing s3://acme-db-backups/b/pg/ failed: Access Denied\n');
  });

  it.each([
    ['a terminal', { isTerminal: true }, true],
    ['a pipe', { isTerminal: false }, false],
    ['a terminal with NO_COLOR', { isTerminal: true, env: { NO_COLOR: '1' } }, false],
  ])('colours on %s: %s', async (_, o, coloured) => {
    withBackup('2026-11-22T00:05:00.000Z');
    orchestratorSays([idle]);
    const io = fakeIo(o);
    await run([], io);
    expect(io.stdout.includes('\x1b[32mok')).toBe(coloured);
    expect(io.stdout.includes('\x1b[')).toBe(coloured);
  });

  it('--target shows the week: every weekday, each version', async () => {
    withBackup('2026-11-22T00:05:00.000Z');
    orchestratorSays([idle]);
    const io = fakeIo();
    expect(await run(['--target', 'pg'], io)).toBe(0);
    expect(io.stdout).toMatch(/^monday +- +no backup/m);
    expect(io.stdout).toMatch(/^sunday +current +5\.0 MiB +2026-11-22 00:05Z +11s +4s +v1$/m);
    expect(io.stdout.match(/^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) /gm)).toHaveLength(7);
  });
});

describe('units and colour choice', () => {
  it.each([
    [0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [5 * 1024 * 1024, '5.0 MiB'], [3 * 1024 ** 3, '3.0 GiB'],
  ])('%d bytes is %s', (n, text) => expect(formatBytes(n)).toBe(text));

  it.each([
    [4.4, '4s'], [185, '3m 05s'], [7800, '2h 10m'], [3 * 86400 + 4 * 3600, '3d 4h'],
  ])('%d seconds is %s', (n, text) => expect(formatDuration(n)).toBe(text));

  it('writes wall-clock time in the zone, across a DST change', () => {
    expect(formatInZone('2026-07-01T23:30:00Z', 'Europe/Dublin')).toBe('2026-07-02 00:30 Europe/Dublin');
    expect(formatInZone('2026-12-01T23:30:00Z', 'Europe/Dublin')).toBe('2026-12-01 23:30 Europe/Dublin');
  });

  it('treats an empty NO_COLOR as unset (no-color.org)', () => {
    expect(colourWanted(true, { NO_COLOR: '' })).toBe(true);
  });
});
