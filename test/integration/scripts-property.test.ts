import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { targetSchema } from '../../functions/shared/config/schema.js';
import { buildBackupJob } from '../../functions/shared/core/scripts/backup-job.js';
import { readMarker } from '../helpers/job-run.js';
import { runJob, shells } from '../helpers/shells.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * Random names and values go through the config schema and the generator into a real shell. Fake pg_dump/mysqldump
 * record the argv and password they receive; what the schema accepts must arrive byte for byte, the rest is rejected.
 */

const FAKES = {
  pg_dump: `#!/bin/sh
case $1 in --version) echo 'pg_dump (PostgreSQL) 16.4'; exit 0;; esac
for a in "$@"; do printf '%s\\0' "$a"; done >argv.bin
printf '%s' "$PGPASSWORD" >secret.bin
printf 'PGDMP fake'
`,
  // The client answers the job's question about the server's version (pg_dump must be at least as new).
  psql: `#!/bin/sh
case $1 in --version) echo 'psql (PostgreSQL) 16.4'; exit 0;; esac
for a in "$@"; do printf '%s\\0' "$a"; done >client-argv.bin
printf '%s' "$PGPASSWORD" >client-secret.bin
echo 160004
`,
  pg_restore: `#!/bin/sh
case $1 in --version) echo 'pg_restore (PostgreSQL) 16.4'; exit 0;; --list) exit 0;; esac
cat >/dev/null
printf 'COPY public.t (x) FROM stdin;\\n1\\n2\\n\\\\.\\n'
`,
  // The client answers the job's question about the database's charset and collation (and lists no FLOAT column).
  mysql: `#!/bin/sh
case $1 in --version) echo 'mysql  Ver 15.1 Distrib 10.11.0-MariaDB'; exit 0;; esac
printf '%s' "$MYSQL_PWD" >client-secret.bin
printf 'utf8mb4\\tutf8mb4_general_ci\\n'
`,
  mysqldump: `#!/bin/sh
case $1 in --version) echo 'mysqldump  Ver 10.19 Distrib 10.11.0-MariaDB'; exit 0;; esac
for a in "$@"; do printf '%s\\0' "$a"; done >argv.bin
printf '%s' "$MYSQL_PWD" >secret.bin
printf 'CREATE TABLE \`t\` (x int);\\nINSERT INTO \`t\` VALUES (1),(2);\\n-- Dump completed\\n'
`,
};

const fakeBin = tempDir('fake-tools');
for (const [name, text] of Object.entries(FAKES)) {
  writeFileSync(join(fakeBin, name), text);
  chmodSync(join(fakeBin, name), 0o755);
}

/** Names the shell or the test harness own; a password variable with one of these names cannot be set per job. */
const RESERVED = new Set(['PATH', 'PWD', 'OLDPWD', 'IFS', 'PS1', 'PS2', 'PS4', 'OPTIND', 'PPID', 'LC_ALL', 'ENV', 'HOME']);

const lenient = (pattern: RegExp) =>
  fc.oneof({ arbitrary: fc.string({ minLength: 0, maxLength: 12 }), weight: 1 }, { arbitrary: fc.stringMatching(pattern), weight: 6 });
const values = fc.record({
  engine: fc.constantFrom('postgres', 'mysql'),
  host: lenient(/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,10}[A-Za-z0-9])?$/),
  database: lenient(/^[A-Za-z0-9_][A-Za-z0-9_$-]{0,12}$/),
  user: lenient(/^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,12}$/),
  passwordEnv: lenient(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/),
  port: fc.integer({ min: 1, max: 65535 }),
  password: fc.string({ unit: 'binary', maxLength: 40 }).filter((p) => !p.includes('\0')),
  runSegment: lenient(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,12}$/),
  runId: fc.string({ unit: 'binary', maxLength: 20 }),
  fromEnviron: fc.boolean(),
});

describe.each(shells())('generated jobs under $name', (shell) => {
  it('deliver every accepted name and any password literally, and the schema rejects the rest', async () => {
    const base = tempDir('prop');
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(values, async (v) => {
        const parsed = targetSchema.safeParse({
          name: 'prop', engine: v.engine, cluster: 'c', service: 's', container: 'db', host: v.host, port: v.port,
          database: v.database, user: v.user, passwordEnv: v.passwordEnv, backupDir: `/${v.runSegment}`,
        });
        if (!parsed.success) {
          const fields = parsed.error.issues.map((i) => String(i.path[0]));
          expect(fields.every((f) => ['host', 'database', 'user', 'passwordEnv', 'backupDir'].includes(f))).toBe(true);
          return;
        }
        if (RESERVED.has(v.passwordEnv)) return;
        accepted++;
        const runDir = join(base, `${accepted}-${v.runSegment}`);
        let script = buildBackupJob(parsed.data, { runId: v.runId, runDir, startedAt: '2026-01-01T00:00:00Z' });
        let env: NodeJS.ProcessEnv = { [v.passwordEnv]: v.password };
        if (v.fromEnviron) {
          // decoy names are longer than any generated name, so they never collide with passwordEnv
          const environ = join(base, `${accepted}.environ`);
          writeFileSync(environ, Buffer.from(`DECOY_VARIABLE_A=1\0${v.passwordEnv}=${v.password}\0DECOY_VARIABLE_Z=${v.passwordEnv}=decoy\0`, 'utf8'));
          script = script.replace("ENVIRON_FILE='/proc/1/environ'", `ENVIRON_FILE='${environ}'`);
          env = {};
        }

        const result = await runJob(shell, runDir, script, { env, path: [fakeBin] });

        const marker = readMarker(runDir);
        expect(marker.runId).toBe(v.runId);
        expect({ code: result.code, ok: marker.ok }).toEqual({ code: 0, ok: true });
        const argv = readFileSync(join(runDir, 'argv.bin'), 'utf8').split('\0').slice(0, -1);
        const expected =
          v.engine === 'postgres'
            ? ['-h', v.host, '-p', String(v.port), '-w', '-U', v.user, '-Fc', '-Z', 'zstd', '-d', v.database]
            : ['-h', v.host, '-P', String(v.port), '-u', v.user, '--single-transaction', '--routines', '--triggers', '--events',
               '--hex-blob', '--no-tablespaces', '--default-character-set=utf8mb4', v.database];
        expect(argv).toEqual(expected);
        expect(readFileSync(join(runDir, 'secret.bin'), 'utf8')).toBe(v.password);
        expect(readFileSync(join(runDir, 'client-secret.bin'), 'utf8')).toBe(v.password);
        if (v.engine === 'postgres') {
          // The last psql call's arguments (the server check and the session queries share the connection options).
          const client = readFileSync(join(runDir, 'client-argv.bin'), 'utf8').split('\0').slice(0, -1);
          expect(client.slice(0, 7)).toEqual(['-h', v.host, '-p', String(v.port), '-w', '-U', v.user]);
        }
        expect(existsSync(join(runDir, v.engine === 'postgres' ? 'dump.pgdump' : 'dump.sql.gz'))).toBe(true);
      }),
      { numRuns: 50 },
    );
    expect(accepted).toBeGreaterThan(10);
  });
});
