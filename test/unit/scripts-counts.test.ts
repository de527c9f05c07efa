import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWK_ESC, AWK_JNAME } from '../../functions/shared/core/scripts/common.js';
import { MYSQL_COUNT_AWK } from '../../functions/shared/core/scripts/engines/mysql.js';
import { EMPTY_MD5, PG_CONTENT_AWK, ROW_BATCH, ROW_BATCH_BYTES } from '../../functions/shared/core/scripts/engines/postgres-content.js';

/** The awks the jobs meet: Debian's gawk and mawk, and busybox awk (Alpine). */
const AWKS = [
  { name: 'gawk', argv: ['gawk'], grep: 'grep' },
  { name: 'mawk', argv: ['mawk'], grep: 'grep' },
  { name: 'busybox awk', argv: ['busybox', 'awk'], grep: 'busybox grep' },
];

/** The job's pg_content_awk: rows to one md5sum per table (its line into a file on fd 3), large objects to another. */
function pgContent(awkArgv: string[], input: string, hash = true, direct = false): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-content-'));
  try {
    const h = hash ? ['md5sum >&3', `md5sum >${dir}/lo`] : ['', ''];
    const script = `LC_ALL=C ${awkArgv.join(' ')} -v direct="$5" -v hash="$2" -v lohash="$3" -v dg="$1/dg" -v lofile="$1/lo" "$4" 3>"$1/dg"`;
    const out = execFileSync('sh', ['-c', script, 'sh', dir, ...h, PG_CONTENT_AWK, direct ? '1' : '0'], { input, env: { PATH: '/usr/bin:/bin' } }).toString('utf8');
    return JSON.parse(out) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

function awk(argv: string[], program: string, input: string | Buffer): string {
  const [cmd, ...pre] = argv as [string, ...string[]];
  return execFileSync(cmd, [...pre, program], { input, env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' } }).toString('utf8');
}

const PG_DATA = `--
-- PostgreSQL database dump
--
SET statement_timeout = 0;
COPY public.t (id, note) FROM stdin;
1\tfirst
2\twith \\\\. and \\n escaped
COPY looks like a header FROM stdin;
\\.
COPY "Ünï ""sch"" (x)"."tab le" ("a b", c) FROM stdin;
1\tx
\\.
COPY public.empty (x) FROM stdin;
\\.
SELECT pg_catalog.setval('public.t_id_seq', 2, true);
COPY public.t (id, note) FROM stdin;
3\tsame table in a second block
\\.
COPY public."new
line" ("col
x", "q""uote") FROM stdin;
7\tx
\\.
SELECT pg_catalog.setval('public."s''q
seq"', 41, false);
SELECT pg_catalog.lo_create('16413');
ALTER LARGE OBJECT 16413 OWNER TO postgres;
BEGIN;
SELECT pg_catalog.lo_open('16413', 131072);
SELECT pg_catalog.lowrite(0, '\\x68656c6c6f');
SELECT pg_catalog.lo_close(0);
SELECT pg_catalog.lo_open('16414', 131072);
SELECT pg_catalog.lo_close(0);
COMMIT;
`;

const MYSQL_DATA = `-- MySQL dump 10.13
CREATE TABLE \`t\` (
  \`id\` int NOT NULL
);
INSERT INTO \`t\` VALUES (1,'a\\'b),(c'),(2,'x\\\\'),(3,'it''s'),(4,NULL,0x28292C);
INSERT INTO \`t\` VALUES (5,'();');
CREATE TABLE \`odd \`\`name\`\`\` (k int);
INSERT INTO \`odd \`\`name\`\`\` VALUES
(1,'line one'),
(2,'tab\there ), ('),
(3,'a string with ),( inside'),
(4,'end');
CREATE TABLE \`empty\` (x int);
/*!50001 CREATE TABLE \`view_stand_in\` (x int) */;
-- Dump completed on 2026-01-01 00:00:00
`;

describe.each(AWKS)('row counting under $name', ({ argv }) => {
  it("reads each table's rows and their md5, each sequence and the large objects from a data-only stream, names with newlines included", () => {
    const rowsOfT = ['1\tfirst\n2\twith \\\\. and \\n escaped\nCOPY looks like a header FROM stdin;\n', '3\tsame table in a second block\n'];
    const lo = PG_DATA.split('\n').filter((l) => /^SELECT pg_catalog\.lo/.test(l)).map((l) => `${l}\n`).join('');

    expect(pgContent(argv, PG_DATA)).toEqual({
      tables: { 'public.t': 4, '"Ünï ""sch"" (x)"."tab le"': 1, 'public.empty': 0, 'public."new\nline"': 1 },
      digests: {
        'public.t': `${md5(rowsOfT[0]!)}+${md5(rowsOfT[1]!)}`,
        '"Ünï ""sch"" (x)"."tab le"': md5('1\tx\n'),
        'public.empty': EMPTY_MD5,
        'public."new\nline"': md5('7\tx\n'),
      },
      sequences: { 'public.t_id_seq': '2,true', 'public."s\'q\nseq"': '41,false' },
      largeObjects: { count: 2, digest: md5(lo) },
    });
  });

  it('counts only, without digests, when the container has no md5sum', () => {
    expect(pgContent(argv, PG_DATA, false)).toMatchObject({ tables: { 'public.t': 4 }, largeObjects: { count: 2 } });
    expect(pgContent(argv, PG_DATA, false)).not.toHaveProperty('digests');
  });

  it.each([false, true])('digests rows handed over in batches exactly like row by row (direct=%s): full batches, a partial last one, rows over the byte limit', (direct) => {
    const many = Array.from({ length: 3 * ROW_BATCH + 5 }, (_, i) => `${i}\trow ${i}\n`).join('');
    const huge = ['1\tsmall\n', `2\t${'x'.repeat(ROW_BATCH_BYTES)}\n`, '3\tafter\n', `4\t${'y'.repeat(ROW_BATCH_BYTES / 2)}\n`].join('');
    const exact = Array.from({ length: ROW_BATCH }, (_, i) => `${i}\n`).join('');
    const input = `COPY public.many (id, v) FROM stdin;\n${many}\\.\nCOPY public.huge (id, v) FROM stdin;\n${huge}\\.\nCOPY public.exact (id) FROM stdin;\n${exact}\\.\n`;
    expect(pgContent(argv, input, true, direct)).toEqual({
      tables: { 'public.many': 3 * ROW_BATCH + 5, 'public.huge': 4, 'public.exact': ROW_BATCH },
      digests: { 'public.many': md5(many), 'public.huge': md5(huge), 'public.exact': md5(exact) },
      sequences: {},
    });
  });

  it('counts nothing for a database without tables', () => {
    expect(pgContent(argv, 'SET x = 1;\n')).toEqual({ tables: {}, digests: {}, sequences: {} });
  });

  it('counts the tuples of single-line and one-tuple-per-line mysqldump INSERTs, strings with parentheses included', () => {
    expect(JSON.parse(awk(argv, MYSQL_COUNT_AWK, MYSQL_DATA))).toEqual({ tables: { t: 5, 'odd `name`': 4, empty: 0 } });
  });

  it('digests each table\'s INSERT lines with one md5sum per table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'my-content-'));
    try {
      const script = `LC_ALL=C ${argv.join(' ')} -v hash='md5sum >&3' -v dg="$1/dg" "$2" 3>"$1/dg"`;
      const out = JSON.parse(execFileSync('sh', ['-c', script, 'sh', dir, MYSQL_COUNT_AWK], { input: MYSQL_DATA, env: { PATH: '/usr/bin:/bin' } }).toString('utf8'));
      const lines = MYSQL_DATA.split('\n');
      const of = (from: number, to: number) => md5(`${lines.slice(from, to).join('\n')}\n`);
      expect(out.digests).toEqual({ t: of(4, 6), 'odd `name`': of(7, 12), empty: EMPTY_MD5 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with status 3 when the mysqldump footer is missing', () => {
    const [cmd, ...pre] = argv as [string, ...string[]];
    const truncated = MYSQL_DATA.split('\n').slice(0, 9).join('\n');

    expect(() => execFileSync(cmd, [...pre, MYSQL_COUNT_AWK], { input: truncated, stdio: 'pipe' })).toThrow(/footer/);
    expect(spawnSync(cmd, [...pre, MYSQL_COUNT_AWK], { input: truncated }).status).toBe(3);
  });

  it('escapes text for JSON (quotes, backslashes, tabs; control bytes as ?)', () => {
    const program = `${AWK_ESC}{ printf "%s%s", (NR > 1 ? "\\\\n" : ""), esc($0) }`;
    const input = Buffer.from('say "hi"\\ now\tthen\x01\nsecond line');

    expect(JSON.parse(`"${awk(argv, program, input)}"`)).toBe('say "hi"\\ now\tthen?\nsecond line');
  });

  it('escapes a name for JSON like esc, with a tab as ? as well', () => {
    const program = `${AWK_JNAME}{ printf "%s", jname($0) }`;

    expect(JSON.parse(`"${awk(argv, program, Buffer.from('t\tab "q"\\ \x01'))}"`)).toBe('t?ab "q"\\ ?');
  });
});
