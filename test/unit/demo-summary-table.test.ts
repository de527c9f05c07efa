import { describe, expect, it } from 'vitest';
import { allVerified, formatSummary, secondsText, summaryRow, TIMING_FOOTNOTES, verdictText, type Verdict } from '../../scripts/demo/summary-table.js';

const manifest = {
  size: 457659,
  key: 'backups/orders-pg/sunday.pgdump',
  startedAt: '2026-11-22T06:52:18.400Z',
  dumpEndedAt: '2026-11-22T06:52:21Z',
  uploadedAt: '2026-11-22T06:52:24.150Z',
};
const yes: Verdict = { verified: 'yes', how: 'restored' };

describe('summaryRow', () => {
  it('takes the size, key and durations from the manifest', () => {
    expect(summaryRow('orders-pg', 'postgres', manifest, yes)).toEqual({
      target: 'orders-pg', engine: 'postgres', bytes: 457659, dumpSeconds: 2.6, uploadSeconds: 3.15, key: 'backups/orders-pg/sunday.pgdump', verdict: yes,
    });
  });

  it('clamps a dump that ended within the start second at 0 (the container stamps whole seconds)', () => {
    expect(summaryRow('t', 'redis', { ...manifest, dumpEndedAt: '2026-11-22T06:52:18Z' }, yes).dumpSeconds).toBe(0);
  });

  it('has no numbers when the target has no backup', () => {
    expect(summaryRow('t', 'redis', null, { verified: 'no', why: 'no backup' })).toMatchObject({ bytes: null, dumpSeconds: null, uploadSeconds: null, key: null });
  });
});

describe('cells', () => {
  it.each([
    [{ verified: 'yes', how: 'x' }, 'yes'],
    [{ verified: 'no', why: 'table t has different rows' }, 'no: table t has different rows'],
    [{ verified: 'not checked', why: 'interrupted' }, 'not checked: interrupted'],
  ] as const)('writes the verdict %j as %s', (verdict, text) => {
    expect(verdictText(verdict)).toBe(text);
  });

  it.each([
    [null, '-'],
    [0, '<1'],
    [0.99, '<1'],
    [1, '1.0'],
    [12.345, '12.3'],
  ] as const)('writes %s seconds as %s', (s, text) => {
    expect(secondsText(s)).toBe(text);
  });
});

describe('formatSummary', () => {
  it('aligns the columns, right-aligns the numbers and explains the timings', () => {
    const text = formatSummary([
      summaryRow('orders-pg', 'postgres', manifest, yes),
      summaryRow('sessions-redis', 'redis', null, { verified: 'no', why: 'no backup: failed' }),
    ]);
    expect(text.split('\n')).toEqual([
      'TARGET          ENGINE     BYTES  DUMP s  UPLOAD s  S3 KEY                           VERIFIED',
      'orders-pg       postgres  457659     2.6       3.1  backups/orders-pg/sunday.pgdump  yes',
      'sessions-redis  redis          -       -         -  (no backup)                      no: no backup: failed',
      ...TIMING_FOOTNOTES.map((f) => `  ${f}`),
    ]);
  });
});

describe('allVerified', () => {
  it.each([
    [[yes, yes], true],
    [[yes, { verified: 'no', why: 'x' }], false],
    [[{ verified: 'not checked', why: 'x' }], false],
    [[], false],
  ] as const)('is %j → %s', (verdicts, expected) => {
    expect(allVerified(verdicts.map((v) => summaryRow('t', 'postgres', manifest, v)))).toBe(expected);
  });
});
