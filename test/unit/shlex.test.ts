import { describe, expect, it } from 'vitest';
import { ShlexError, shlexSplit } from '../../scripts/standin/shlex.js';

describe('shlexSplit (google/shlex rules, as the SSM agent applies them)', () => {
  it.each([
    ['splits on runs of whitespace', ' a  b\tc\nd ', ['a', 'b', 'c', 'd']],
    ['keeps single-quoted text literal', `'a "b" \\c $d'`, ['a "b" \\c $d']],
    ['embeds a single quote with the close-reopen idiom', `/bin/sh -c 'echo it'"'"'s ok; echo "__RC:$?"'`, ['/bin/sh', '-c', `echo it's ok; echo "__RC:$?"`]],
    ['drops the backslash of any escape inside double quotes', `"a\\"b\\\\c\\x"`, ['a"b\\cx']],
    ['escapes a space outside quotes', 'a\\ b c', ['a b', 'c']],
    ['joins adjacent quoted and bare parts into one word', `a'b'"c"d`, ['abcd']],
    ['gives an empty word for empty quotes', `'' ""`, ['', '']],
    ['treats # at the start of a token as a comment to the end of line', 'echo #x y\nls -l', ['echo', 'ls', '-l']],
    ['keeps # inside a word', 'echo a#b', ['echo', 'a#b']],
    ['keeps # inside quotes', `echo '#x' "#y"`, ['echo', '#x', '#y']],
    ['keeps unicode', `echo 'héllo ✓'`, ['echo', 'héllo ✓']],
    ['has no shell operators', 'a;b | c && $X', ['a;b', '|', 'c', '&&', '$X']],
    ['returns nothing for an empty line', '   ', []],
  ])('%s', (_name, input, expected) => {
    expect(shlexSplit(input)).toEqual(expected);
  });

  it.each([
    ['an unterminated single quote', `echo 'x`, 'EOF found when expecting closing quote'],
    ['an unterminated double quote', 'echo "x', 'EOF found when expecting closing quote'],
    ['a trailing backslash', 'echo x\\', 'EOF found after escape character'],
    ['a trailing backslash inside double quotes', 'echo "x\\', 'EOF found after escape character'],
  ])('rejects %s', (_name, input, message) => {
    expect(() => shlexSplit(input)).toThrow(new ShlexError(message));
  });
});
