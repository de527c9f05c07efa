import { BackupError } from '../../functions/shared/errors.js';

/** A command string the agent's shlex cannot split (unterminated quote or trailing backslash). */
export class ShlexError extends BackupError {}

type State = 'start' | 'word' | 'escaping' | 'escapingQuoted' | 'doubleQuoted' | 'singleQuoted' | 'comment';

const SPACE = new Set([' ', '\t', '\r', '\n']);

/**
 * Splits a command line exactly like github.com/google/shlex `Split`, which the SSM agent uses for ECS Exec:
 * no shell, POSIX-ish quoting, a backslash inside double quotes escapes any character (and is dropped),
 * and an unquoted `#` at the start of a token comments out the rest of the line.
 */
export function shlexSplit(input: string): string[] {
  const words: string[] = [];
  let state: State = 'start';
  let value = '';
  for (const ch of input) {
    switch (state) {
      case 'start':
        if (SPACE.has(ch)) break;
        if (ch === '"') state = 'doubleQuoted';
        else if (ch === "'") state = 'singleQuoted';
        else if (ch === '\\') state = 'escaping';
        else if (ch === '#') state = 'comment';
        else {
          value = ch;
          state = 'word';
        }
        break;
      case 'word':
        if (SPACE.has(ch)) {
          words.push(value);
          value = '';
          state = 'start';
        } else if (ch === '"') state = 'doubleQuoted';
        else if (ch === "'") state = 'singleQuoted';
        else if (ch === '\\') state = 'escaping';
        else value += ch;
        break;
      case 'escaping':
        value += ch;
        state = 'word';
        break;
      case 'escapingQuoted':
        value += ch;
        state = 'doubleQuoted';
        break;
      case 'doubleQuoted':
        if (ch === '"') state = 'word';
        else if (ch === '\\') state = 'escapingQuoted';
        else value += ch;
        break;
      case 'singleQuoted':
        if (ch === "'") state = 'word';
        else value += ch;
        break;
      case 'comment':
        if (ch === '\n') state = 'start';
        break;
    }
  }
  switch (state) {
    case 'word':
      words.push(value);
      break;
    case 'escaping':
    case 'escapingQuoted':
      throw new ShlexError('EOF found after escape character');
    case 'doubleQuoted':
    case 'singleQuoted':
      throw new ShlexError('EOF found when expecting closing quote');
    default:
      break;
  }
  return words;
}
