import { describe, expect, it } from 'vitest';
import { failureDetail, noBackupVerdict, outcomeLine } from '../../scripts/demo/hourly.js';

const PG_TAIL = [
  '2026-11-22T07:05:21Z step version: start',
  '2026-11-22T07:05:21Z pg_dump major version 15: compression 1',
  '2026-11-22T07:05:21Z step dump: start',
  'pg_dump: error: connection to server at "127.0.0.1", port 5432 failed: Connection refused',
  '\tIs the server running on that host and accepting TCP/IP connections?',
  '2026-11-22T07:05:21Z error: pg_dump exited with status 1',
  '2026-11-22T07:05:21Z error: pg_restore -a exited with status 1',
  '2026-11-22T07:05:21Z step dump: exit status 1',
  '2026-11-22T07:05:21Z job finished: ok=false',
  '',
].join('\n');

describe('failureDetail', () => {
  it.each([
    ['the tool\'s error, without the job\'s bookkeeping', [{ level: 'ERROR', message: 'backup failed', target: 'pg', stderrTail: PG_TAIL }], 'pg', ['pg_dump: error: connection to server at "127.0.0.1", port 5432 failed: Connection refused']],
    ['the last lines when none reads like an error', [{ level: 'ERROR', message: 'x', target: 'pg', stderrTail: '2026-11-22T07:05:21Z step dump: start\nsomething odd\n' }], 'pg', ['something odd']],
    ['nothing for another target', [{ level: 'ERROR', message: 'x', target: 'other', stderrTail: PG_TAIL }], 'pg', []],
    ['nothing without a stderr tail', [{ level: 'ERROR', message: 'x', target: 'pg' }], 'pg', []],
    ['nothing from an INFO line', [{ level: 'INFO', message: 'x', target: 'pg', stderrTail: PG_TAIL }], 'pg', []],
  ])('shows %s', (_case, logs, target, expected) => {
    expect(failureDetail(logs, target)).toEqual(expected);
  });
});

describe('outcomeLine', () => {
  it.each([
    [{ target: 'orders-pg', outcome: 'succeeded', key: 'backups/orders-pg/sunday.pgdump' }, 'orders-pg            succeeded  backups/orders-pg/sunday.pgdump'],
    [{ target: 'cache', outcome: 'failed', reason: 'step "dump" exited with status 1' }, 'cache                failed  step "dump" exited with status 1'],
    [{ target: 'cache', outcome: 'idle' }, 'cache                idle'],
    [{ target: 'pg', outcome: 'started', kind: 'drill' }, 'pg                   drill started'],
  ] as const)('writes %j', (outcome, line) => {
    expect(outcomeLine(outcome)).toBe(line);
  });
});

describe('noBackupVerdict', () => {
  it.each([
    [{ target: 'pg', outcome: 'failed', reason: 'step "dump" exited with status 1' }, 'no backup: failed (step "dump" exited with status 1)'],
    [{ target: 'pg', outcome: 'started' }, 'no backup: started'],
    [undefined, 'no backup: never ran'],
  ] as const)('says how %j ended', (last, why) => {
    expect(noBackupVerdict(last)).toEqual({ verified: 'no', why });
  });
});
