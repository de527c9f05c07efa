import { describe, expect, it } from 'vitest';
import { exitCodeOf, formatReport, jsonReport, summarize, useColor, worstVerdict } from '../../../functions/shared/exec-checker/report.js';
import type { CheckResult } from '../../../functions/shared/exec-checker/types.js';

const ok: CheckResult = { check: 'task-status', title: 'Task status', verdict: 'green', message: 'RUNNING' };
const warn: CheckResult = { check: 'pid-mode', title: 'PID mode', verdict: 'yellow', message: 'task', fix: 'remove pidMode' };
const fail: CheckResult = { check: 'exec-enabled', title: 'Exec enabled for task', verdict: 'red', message: 'NO', fix: 'set enableExecuteCommand = true' };

describe('verdicts and exit codes', () => {
  it.each([
    [[], 'green', 0],
    [[ok], 'green', 0],
    [[ok, warn], 'yellow', 0],
    [[warn, fail, ok], 'red', 1],
  ] as [CheckResult[], string, number][])('rates %j', (results, verdict, code) => {
    expect(worstVerdict(results)).toBe(verdict);
    expect(exitCodeOf(results)).toBe(code);
  });

  it('counts each verdict', () => {
    expect(summarize([ok, ok, warn, fail])).toEqual({ green: 2, yellow: 1, red: 1 });
  });
});

describe('useColor', () => {
  it.each([
    [true, {}, true],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: '' }, true],
    [false, {}, false],
    [undefined, {}, false],
  ] as [boolean | undefined, NodeJS.ProcessEnv, boolean][])('is %s for a TTY %s and env %j', (tty, env, expected) => {
    expect(useColor(tty, env)).toBe(expected);
  });
});

describe('formatReport', () => {
  it('prints plain tags, the fix of each line, notes and a summary when colour is off', () => {
    expect(formatReport([ok, warn, fail], { color: false, notes: ['backup-path checks skipped'] })).toBe(
      [
        '[OK]   Task status: RUNNING',
        '[WARN] PID mode: task → remove pidMode',
        '[FAIL] Exec enabled for task: NO → set enableExecuteCommand = true',
        '       backup-path checks skipped',
        '3 checks: 1 ok, 1 warnings, 1 failures — ECS Exec will fail: fix the [FAIL] lines',
        '',
      ].join('\n'),
    );
  });

  it.each([
    [[ok], '1 checks: 1 ok, 0 warnings, 0 failures — all checks passed'],
    [[ok, warn], '2 checks: 1 ok, 1 warnings, 0 failures — no blocking problem found; see the [WARN] lines'],
  ] as [CheckResult[], string][])('summarizes %#', (results, summary) => {
    expect(formatReport(results, { color: false }).trimEnd().split('\n').pop()).toBe(summary);
  });

  it('colours tags and the summary with ANSI codes on a terminal, and nothing else', () => {
    const text = formatReport([ok, fail], { color: true });
    expect(text).toContain('\u001b[32m[OK]\u001b[0m   Task status: RUNNING');
    expect(text).toContain('\u001b[31m[FAIL]\u001b[0m Exec enabled for task: NO');
    expect(text).toContain('\u001b[31m2 checks: 1 ok, 0 warnings, 1 failures');
    expect(formatReport([ok, fail], { color: false })).not.toContain('\u001b');
  });
});

describe('jsonReport', () => {
  it('prints the verdict, the counts, every line and the notes', () => {
    expect(JSON.parse(jsonReport([ok, fail], ['n']))).toEqual({ verdict: 'red', summary: { green: 1, yellow: 0, red: 1 }, results: [ok, fail], notes: ['n'] });
  });
});
