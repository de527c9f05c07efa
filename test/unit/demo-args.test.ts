import { describe, expect, it } from 'vitest';
import { DemoUsageError, parseDemoArgs } from '../../scripts/demo/args.js';

describe('parseDemoArgs', () => {
  it.each([
    [[], { help: false, small: false, tamper: false }],
    [['--small'], { help: false, small: true, tamper: false }],
    [['--small', '--tamper'], { help: false, small: true, tamper: true }],
    [['--config', 'examples/demo-local.json'], { help: false, small: false, tamper: false, config: 'examples/demo-local.json' }],
    [['--config=x.json'], { help: false, small: false, tamper: false, config: 'x.json' }],
  ] as const)('parses %j', (argv, expected) => {
    expect(parseDemoArgs(argv)).toEqual(expected);
  });

  it.each([
    [['--bogus'], "unknown option '--bogus'"],
    [['--small', 'extra'], "unexpected argument 'extra': the demo takes only options"],
    [['--config'], "option '--config <file>' argument missing"],
    [['--config', 'x.json', '--tamper'], '--tamper is for the sample databases and cannot be used with --config: it would change your data'],
    [['--config', 'x.json', '--small'], '--small is for the sample databases and cannot be used with --config'],
  ] as const)('rejects %j naming the argument', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(DemoUsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });

  it('answers --help with the usage, the flags and how to use --config', () => {
    const parsed = parseDemoArgs(['--help']);
    expect(parsed.help).toBe(true);
    const text = (parsed as { text: string }).text;
    expect(text).toMatch(/^Usage: npm run demo -- \[--config FILE\] \[--small\] \[--tamper\] \[--help\]/);
    expect(text).toContain('--config <file>');
    expect(text).toContain('npm run demo -- --config examples/demo-local.json');
  });
});
