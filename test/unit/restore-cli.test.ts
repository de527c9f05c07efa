import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { BackupListing } from '../../functions/shared/adapters/s3-backups.js';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { confirmRestore, formatListing, main, overwrittenName, RestoreCliError, UsageError, type CliIo, type RestoreCliOptions } from '../../scripts/restore.js';

const dir = mkdtempSync(join(tmpdir(), 'restore-cli-unit-'));
const config = join(dir, 'backup.config.json');
writeFileSync(
  config,
  JSON.stringify({
    region: 'eu-west-1',
    bucket: { name: 'acme-db-backups' },
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    subnetIds: ['subnet-0a1b2c3d4e5f60711'],
    efs: { fileSystemId: 'fs-0a1b2c3d4e5f60733', mountTargetSecurityGroupId: 'sg-0a1b2c3d4e5f60744' },
    targets: [
      { name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' },
      { name: 'cache', engine: 'redis', cluster: 'c', service: 'r', container: 'k', backupDir: '/backup' },
    ],
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeIo(opts: { interactive?: boolean; answer?: string } = {}): CliIo & { stdout: string; stderr: string; asked: string[] } {
  const io = {
    stdout: '',
    stderr: '',
    asked: [] as string[],
    interactive: opts.interactive ?? false,
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
    ask: async (q: string) => {
      io.asked.push(q);
      return opts.answer ?? '';
    },
    sleep: async () => undefined,
  };
  return io;
}

const pg = targetSchema.parse({ name: 'pg', engine: 'postgres', cluster: 'c', service: 's', container: 'k', database: 'app', backupDir: '/backup' });
const redis = targetSchema.parse({ name: 'cache', engine: 'redis', cluster: 'c', service: 'r', container: 'k', backupDir: '/backup' });
const options = (o: Partial<RestoreCliOptions>): RestoreCliOptions => ({ target: 'pg', list: false, overwrite: false, verify: false, yes: false, function: 'f', pollSeconds: 0, ...o });

describe('overwrittenName', () => {
  it.each([
    ['postgres into the live database', pg, {}, 'app'],
    ['postgres into the live database by name', pg, { into: 'app' }, 'app'],
    ['postgres into another database', pg, { into: 'copy' }, null],
    ['postgres into another database with overwrite', pg, { into: 'copy', overwrite: true }, 'copy'],
    ['redis without overwrite (staged beside the live file)', redis, {}, null],
    ['redis with overwrite', redis, { overwrite: true }, 'cache'],
  ])('is right for %s', (_case, target, o, name) => {
    expect(overwrittenName(target, { overwrite: false, ...o })).toBe(name);
  });
});

describe('confirmRestore', () => {
  it.each([
    ['another database', options({ into: 'copy' }), {}],
    ['--overwrite --yes', options({ overwrite: true, yes: true }), {}],
    ['--overwrite and the typed name', options({ overwrite: true }), { interactive: true, answer: ' app\n' }],
  ])('lets %s through', async (_case, o, io) => {
    await expect(confirmRestore(pg, o, fakeIo(io))).resolves.toBeUndefined();
  });

  it.each([
    ['the live database without --overwrite', options({}), {}, UsageError, /would replace its data: restore into another database with --into NAME, or pass --overwrite/],
    ['--overwrite without a terminal', options({ overwrite: true }), {}, RestoreCliError, /no terminal to ask on; pass --yes/],
    ['--overwrite with the wrong name typed', options({ overwrite: true }), { interactive: true, answer: 'ap' }, RestoreCliError, /"ap" does not match "app"; nothing was restored/],
  ])('refuses %s', async (_case, o, io, type, message) => {
    const error = await confirmRestore(pg, o, fakeIo(io)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
  });

  it('asks for the name of the database it replaces', async () => {
    const io = fakeIo({ interactive: true, answer: 'app' });
    await confirmRestore(pg, options({ overwrite: true }), io);
    expect(io.asked).toEqual(['This replaces the data of "app" (target "pg"). Type app to confirm: ']);
  });
});

describe('formatListing', () => {
  const listing = (o: Partial<BackupListing>): BackupListing => ({
    weekday: 'monday', key: 'p/pg/monday.pgdump', manifestKey: 'p/pg/monday.json', size: 3 * 1024 * 1024, lastModified: new Date('2026-11-16T00:05:00Z'),
    versionId: 'v2', isLatest: true, manifest: { uploadedAt: '2026-11-16T00:04:59.000Z' } as BackupListing['manifest'], ...o,
  });

  it('shows weekday, size, time and version, marking the current versions and the latest backup', () => {
    const text = formatListing([
      listing({ weekday: 'tuesday', versionId: 'v3', size: 2048, manifest: { uploadedAt: '2026-11-17T00:04:59.000Z' } as BackupListing['manifest'] }),
      listing({}),
      listing({ versionId: 'v1', isLatest: false, manifest: null }),
    ]);
    expect(text).toBe(
      [
        'WEEKDAY  SIZE     UPLOADED              VERSION ID',
        'tuesday  2.0 KiB  2026-11-17 00:04:59Z  v3          current, latest',
        'monday   3.0 MiB  2026-11-16 00:04:59Z  v2          current',
        'monday   3.0 MiB  2026-11-16 00:05:00Z  v1          older, no manifest: cannot be verified',
        '',
      ].join('\n'),
    );
  });

  it('says when there are none', () => {
    expect(formatListing([])).toBe('no backups\n');
  });
});

describe('main', () => {
  const lambdaMock = mockClient(LambdaClient);
  const clients = () => ({ lambda: new LambdaClient({ region: 'eu-west-1' }), s3: new S3Client({ region: 'eu-west-1' }) });
  const answer = (body: unknown, functionError?: string) => ({ StatusCode: 200, Payload: Buffer.from(JSON.stringify(body)) as never, ...(functionError ? { FunctionError: functionError } : {}) });
  const source = { key: 'p/pg/monday.pgdump', versionId: 'v1', weekday: 'monday', uploadedAt: '2026-11-16T00:04:59.000Z' };

  beforeEach(() => lambdaMock.reset());

  it('restores through the Lambda, polling with the run id and showing progress', async () => {
    const base = { target: 'pg', kind: 'restore', runId: '20261122T040000Z-0123ab', source, database: 'copy' };
    lambdaMock
      .on(InvokeCommand)
      .resolvesOnce(answer({ action: 'restore', result: { ...base, outcome: 'started', phase: 'downloading', progress: { bytesDownloaded: 0, bytesTotal: 2 * 1048576 } } }))
      .resolvesOnce(answer({ action: 'restore', result: { ...base, outcome: 'waiting', phase: 'running', progress: { bytesDownloaded: 2 * 1048576, bytesTotal: 2 * 1048576, runningSeconds: 7 } } }))
      .resolvesOnce(answer({ action: 'restore', result: { ...base, outcome: 'succeeded', phase: 'finished' } }));
    const io = fakeIo();
    const code = await main(['--target', 'pg', '--version-id', 'v1', '--into', 'copy', '--config', config], io, clients);
    expect(code, io.stderr).toBe(0);
    expect(io.stderr).toBe(
      [
        'restore 20261122T040000Z-0123ab of p/pg/monday.pgdump (version v1) into copy',
        'downloading p/pg/monday.pgdump: 0 B of 2.0 MiB',
        'restore job running in the container (7 s)',
        '',
      ].join('\n'),
    );
    expect(io.stdout).toBe('restored p/pg/monday.pgdump (version v1) into copy (run 20261122T040000Z-0123ab)\n');
    const sent = lambdaMock.commandCalls(InvokeCommand).map((c) => JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString()) as unknown);
    expect(sent).toEqual([
      { action: 'restore', target: 'pg', backup: { versionId: 'v1' }, intoDatabase: 'copy', overwrite: false, verify: false },
      { action: 'restore', target: 'pg', backup: { versionId: 'v1' }, intoDatabase: 'copy', overwrite: false, verify: false, runId: base.runId },
      { action: 'restore', target: 'pg', backup: { versionId: 'v1' }, intoDatabase: 'copy', overwrite: false, verify: false, runId: base.runId },
    ]);
  });

  it.each([
    ['a function error', answer({ errorType: 'X', errorMessage: 'refusing to restore' }, 'Unhandled'), /^error: the orchestrator answered with an error: refusing to restore$/m],
    ['a busy target', answer({ action: 'restore', result: { target: 'pg', kind: 'restore', outcome: 'busy', reason: 'a backup holds the lock' } }), /^error: target "pg" is busy: a backup holds the lock; try again later$/m],
    ['a failed restore', answer({ action: 'restore', result: { target: 'pg', kind: 'restore', outcome: 'failed', runId: 'r', reason: 'step "restore" exited with status 1' } }), /^error: restore r failed: step "restore" exited with status 1$/m],
  ])('exits 1 on %s', async (_case, response, message) => {
    lambdaMock.on(InvokeCommand).resolves(response);
    const io = fakeIo();
    expect(await main(['--target', 'pg', '--into', 'copy', '--config', config], io, clients)).toBe(1);
    expect(io.stderr).toMatch(message);
  });

  it.each([
    ['no --target', ['--config', config], /^error: required option '--target <name>' not specified$/m],
    ['an unknown option before --target', ['--bogus', '--target', 'pg', '--config', config], /^error: unknown option '--bogus'$/m],
    ['an unknown option without --target', ['--bogus'], /^error: unknown option '--bogus'$/m],
    ['--backup and --version-id', ['--target', 'pg', '--backup', 'monday', '--version-id', 'v', '--config', config], /^error: pass either --backup or --version-id, not both$/m],
    ['an unknown target', ['--target', 'nope', '--config', config], /^error: unknown target "nope": the config has pg, cache$/m],
    ['a missing config', ['--target', 'pg', '--config', join(dir, 'missing.json')], /^error: cannot read config file/m],
    ['--list with --overwrite', ['--target', 'pg', '--list', '--overwrite', '--config', config], /^error: --list only lists/m],
    ['the live database without --overwrite', ['--target', 'pg', '--config', config], /^error: restoring into the live database "app"/m],
  ])('exits 2 for %s without invoking anything', async (_case, argv, message) => {
    const io = fakeIo();
    expect(await main(argv, io, clients)).toBe(2);
    expect(io.stderr).toMatch(message);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});
