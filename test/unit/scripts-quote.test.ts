import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shQuote } from '../../functions/shared/core/scripts/quote.js';

describe('shQuote', () => {
  it.each([
    { value: '', quoted: "''" },
    { value: 'plain', quoted: "'plain'" },
    { value: "it's", quoted: `'it'"'"'s'` },
    { value: '$HOME `id` "x" \\n', quoted: `'$HOME \`id\` "x" \\n'` },
    { value: "''", quoted: `''"'"''"'"''` },
  ])('quotes $value as $quoted', ({ value, quoted }) => {
    expect(shQuote(value)).toBe(quoted);
  });

  it.each(['dash', 'busybox'])('gives back the exact value when %s evaluates it', (shell) => {
    const value = "a'b\"c$d`e\\f\ng\th *?[]{}~!#&;|<>()";
    const argv = shell === 'dash' ? ['dash', '-c'] : ['busybox', 'sh', '-c'];
    const [cmd, ...pre] = argv as [string, ...string[]];

    const out = execFileSync(cmd, [...pre, `printf '%s' ${shQuote(value)}`]).toString();

    expect(out).toBe(value);
  });
});
