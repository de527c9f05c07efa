import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES, targetSchema, type Engine, type Target } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { ScriptError } from '../../functions/shared/core/scripts/common.js';
import { buildDrillJob } from '../../functions/shared/core/scripts/drill-job.js';
import { buildLaunchScript } from '../../functions/shared/core/scripts/launch.js';
import { buildRestoreJob } from '../../functions/shared/core/scripts/restore-job.js';
import { shells, syntaxErrors } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

const ctx = { runId: 'run-2026-01-01', runDir: '/backup/orders/run-1', startedAt: '2026-01-01T00:00:00.000Z' };

function target(engine: Engine, overrides: Record<string, unknown> = {}): Target {
  return targetSchema.parse({
    name: 't', engine, cluster: 'c', service: 's', container: 'db', database: engine === 'redis' ? undefined : 'app', user: 'admin',
    passwordEnv: 'DB_PASSWORD', backupDir: '/backup', ...overrides,
  });
}

const scripts = ENGINES.flatMap((engine) => [
  { name: `${engine} backup`, text: buildBackupJob(target(engine), ctx) },
  { name: `${engine} restore`, text: buildRestoreJob(target(engine), ctx, { file: 'in.dump', overwrite: true, restartAllowed: true }) },
  { name: `${engine} restore into another db`, text: engine === 'redis' ? '' : buildRestoreJob(target(engine), ctx, { file: 'in.dump', intoDatabase: 'other', overwrite: false }) },
  { name: `${engine} drill`, text: buildDrillJob(target(engine), ctx, { file: 'in.dump', scratchDatabase: 'scratch' }) },
]).filter((s) => s.text !== '');
scripts.push({ name: 'launch', text: buildLaunchScript(ctx.runDir, scripts[0]?.text ?? '') });

const dir = tempDir('scripts-syntax');

describe.each(shells())('generated scripts under $name', (shell) => {
  it.each(scripts)('$name passes sh -n', async ({ name, text }) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.sh`);
    writeFileSync(file, text);

    expect(await syntaxErrors(shell, file)).toBe('');
  });
});

describe('generated scripts', () => {
  it.each(scripts.filter((s) => s.name !== 'launch'))('$name uses no bash-only syntax and sets umask 022', ({ text }) => {
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toContain('umask 022');
    expect(text).not.toMatch(/pipefail|\[\[|\$\{[A-Za-z_]+\/\/|<<<|\bfunction\s+\w+\s*\{|\$'/);
  });

  it.each(ENGINES)('%s jobs name the password variable, never a password value, and pass secrets through the environment', (engine) => {
    const text = buildBackupJob(target(engine, { passwordEnv: 'MY_SECRET_VAR' }), ctx);

    expect(text).toContain("PASSWORD_ENV='MY_SECRET_VAR'");
    expect(text).not.toMatch(/--password[= ]|-p"\$|PGPASSWORD=['"]/);
  });

  it('chooses pg_dump compression from its major version (zstd from 16, else -Z1)', () => {
    const text = buildBackupJob(target('postgres'), ctx);

    expect(text).toContain('if [ "${_major:-0}" -ge 16 ]; then COMPRESS=zstd; else COMPRESS=1; fi');
    expect(text).toContain('pg pg_dump -Fc -Z "$COMPRESS" -d "$DB"; echo $? >.s1; } |');
  });

  it('dumps mysql without --databases, so a restore can choose the database name', () => {
    const text = buildBackupJob(target('mysql'), ctx);

    expect(text).toContain('--single-transaction --routines --triggers --events');
    expect(text).not.toMatch(/MYDUMP" [^\n]*--databases/);
  });

  it('quotes a run id and start time that hold shell and JSON metacharacters', () => {
    const text = buildBackupJob(target('postgres'), { ...ctx, runId: `a'b"c$(id)`, startedAt: '`date`' });

    expect(text).toContain(`RUN_ID_JSON='"a'"'"'b\\"c$(id)"'`);
    expect(text).toContain(`STARTED_AT_JSON='"\`date\`"'`);
  });

  it.each([
    { case: 'a restore file with a slash', build: () => buildRestoreJob(target('postgres'), ctx, { file: '../x', overwrite: false }), message: /plain file name/ },
    { case: 'a drill file with a space', build: () => buildDrillJob(target('postgres'), ctx, { file: 'a b', scratchDatabase: 's' }), message: /plain file name/ },
    { case: 'a scratch database that is the live one', build: () => buildDrillJob(target('mysql'), ctx, { file: 'f', scratchDatabase: 'app' }), message: /live database/ },
    { case: 'a scratch database name with a quote', build: () => buildDrillJob(target('postgres'), ctx, { file: 'f', scratchDatabase: "x'y" }), message: /scratchDatabase/ },
    { case: 'intoDatabase with a semicolon', build: () => buildRestoreJob(target('mysql'), ctx, { file: 'f', intoDatabase: 'a;b', overwrite: false }), message: /intoDatabase/ },
    { case: 'intoDatabase for redis', build: () => buildRestoreJob(target('redis'), ctx, { file: 'f', intoDatabase: '1', overwrite: true }), message: /redis/ },
    { case: 'a mongodb drill without a database', build: () => buildDrillJob(target('mongodb', { database: undefined }), ctx, { file: 'f', scratchDatabase: 's' }), message: /database/ },
  ])('throws a ScriptError given $case', ({ build, message }) => {
    expect(build).toThrow(ScriptError);
    expect(build).toThrow(message);
  });
});
