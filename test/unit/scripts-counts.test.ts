import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AWK_ESC, AWK_JNAME } from '../../functions/shared/core/scripts/common.js';
import { MYSQL_COUNT_AWK } from '../../functions/shared/core/scripts/engines/mysql.js';
import { COUNT_LINES_AWK, PG_COPY_MARKS, PG_COUNT_AWK } from '../../functions/shared/core/scripts/engines/postgres.js';

/** The awks the jobs meet: Debian's gawk and mawk, and busybox awk (Alpine). */
const AWKS = [
  { name: 'gawk', argv: ['gawk'], grep: 'grep' },
  { name: 'mawk', argv: ['mawk'], grep: 'grep' },
  { name: 'busybox awk', argv: ['busybox', 'awk'], grep: 'busybox grep' },
];

/** The job's pipeline: `grep -n` picks the COPY lines and terminators, awk turns line numbers into counts. */
function pgCounts(awkArgv: string[], grep: string, input: string): string {
  const script = `LC_ALL=C ${grep} -n -F -e "$1" -e "$2" | LC_ALL=C ${awkArgv.join(' ')} "$3"`;
  return execFileSync('sh', ['-c', script, 'sh', ...PG_COPY_MARKS, PG_COUNT_AWK], { input, env: { PATH: '/usr/bin:/bin' } }).toString('utf8');
}

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

describe.each(AWKS)('row counting under $name', ({ argv, grep }) => {
  it('counts the rows of each COPY block of a pg_restore data stream, keyed as pg_dump quotes names', () => {
    expect(JSON.parse(pgCounts(argv, grep, PG_DATA))).toEqual({ 'public.t': 4, '"Ünï ""sch"" (x)"."tab le"': 1, 'public.empty': 0 });
  });

  it('counts nothing for a database without tables', () => {
    expect(JSON.parse(pgCounts(argv, grep, 'SET x = 1;\n'))).toEqual({});
  });

  it('counts the tuples of single-line and one-tuple-per-line mysqldump INSERTs, strings with parentheses included', () => {
    expect(JSON.parse(awk(argv, MYSQL_COUNT_AWK, MYSQL_DATA))).toEqual({ t: 5, 'odd `name`': 4, empty: 0 });
  });

  it('fails with status 3 when the mysqldump footer is missing', () => {
    const [cmd, ...pre] = argv as [string, ...string[]];
    const truncated = MYSQL_DATA.split('\n').slice(0, 9).join('\n');

    expect(() => execFileSync(cmd, [...pre, MYSQL_COUNT_AWK], { input: truncated, stdio: 'pipe' })).toThrow(/footer/);
    expect(spawnSync(cmd, [...pre, MYSQL_COUNT_AWK], { input: truncated }).status).toBe(3);
  });

  it('turns "<count> <name>" lines into a JSON object', () => {
    expect(JSON.parse(awk(argv, COUNT_LINES_AWK, '12 public.a\n0 "x y".z\n4294967296 big\n'))).toEqual({
      'public.a': 12,
      '"x y".z': 0,
      big: 4294967296,
    });
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
