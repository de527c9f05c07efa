/**
 * google/shlex Split, as the SSM agent applies it to the ECS `command` (spec §2.2): whitespace separates words,
 * '…' is literal, "…" allows backslash escapes (the backslash is dropped), a `#` that starts a token starts a
 * comment up to the newline, and an unterminated quote or trailing backslash is an error.
 */
export function shlexSplit(input: string): string[] {
  const words: string[] = [];
  type State = 'start' | 'word' | 'escaping' | 'escapingQuoted' | 'doubleQuoted' | 'singleQuoted' | 'comment';
  let state: State = 'start';
  let value = '';
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  for (const c of input) {
    switch (state) {
      case 'start':
        if (isSpace(c)) break;
        if (c === '"') state = 'doubleQuoted';
        else if (c === "'") state = 'singleQuoted';
        else if (c === '\\') state = 'escaping';
        else if (c === '#') state = 'comment';
        else {
          value = c;
          state = 'word';
        }
        break;
      case 'word':
        if (isSpace(c)) {
          words.push(value);
          value = '';
          state = 'start';
        } else if (c === '"') state = 'doubleQuoted';
        else if (c === "'") state = 'singleQuoted';
        else if (c === '\\') state = 'escaping';
        else value += c;
        break;
      case 'escaping':
        value += c;
        state = 'word';
        break;
      case 'escapingQuoted':
        value += c;
        state = 'doubleQuoted';
        break;
      case 'doubleQuoted':
        if (c === '"') state = 'word';
        else if (c === '\\') state = 'escapingQuoted';
        else value += c;
        break;
      case 'singleQuoted':
        if (c === "'") state = 'word';
        else value += c;
        break;
      case 'comment':
        if (c === '\n') state = 'start';
        break;
    }
  }
  if (state === 'word') words.push(value);
  else if (state !== 'start' && state !== 'comment') throw new Error(`shlex: EOF in state ${state}`);
  return words;
}
