import { randomBytes } from 'node:crypto';
import { shQuote } from '../core/scripts/quote.js';
import { ExecError } from './errors.js';

/**
 * ECS Exec runs its `command` without a shell (the agent splits it with google/shlex and execs argv) under a
 * pty, and never reports an exit status (specs/ssm-data-channel.md §1.10, §2.2). So the script is wrapped:
 *
 *   /bin/sh -c '/bin/sh -c "$1" </dev/null; printf "\n%s:%d\n" "$2" "$?"' ecs-exec '<script>' '<nonce>'
 *
 * The script travels as a positional argument, not inside the wrapper's code, so nothing in it (an `exit`,
 * a syntax error, unbalanced quotes, a `#`) can stop the outer shell from printing the marker with the
 * inner shell's exit status. Every shlex word is single-quoted, so shlex sees no comment and no escapes.
 * The command line shows `<nonce>` alone, never `<nonce>:<digits>`, so even `ps` output cannot fake a marker.
 */

/** argv[0] of the outer shell: names the wrapper in `ps` and in the shell's own error messages. */
const WRAPPER_NAME = 'ecs-exec';
const WRAPPER_CODE = '/bin/sh -c "$1" </dev/null; printf "\\n%s:%d\\n" "$2" "$?"';
/** Bytes of the stream kept after the output cap so the marker at the very end is always found. */
export const MARKER_TAIL_BYTES = 4096;
/** Longest possible marker line: `\r\n` + 64-digit nonce + `:255\r\n`. */
const MARKER_MAX_BYTES = 2 + 64 + 4 + 2;

/** A fresh random nonce (32 hex digits) for one call's exit marker. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The ECS `command` string that runs `script` with /bin/sh, stdin from /dev/null, then prints `\n<nonce>:<status>\n`. */
export function wrapScript(script: string, nonce: string): string {
  if (script.includes('\0')) throw new ExecError('the script contains a NUL byte, which cannot be passed to a command; remove it');
  if (!/^[0-9a-f]{8,64}$/.test(nonce)) throw new ExecError(`nonce ${JSON.stringify(nonce)} must be 8-64 lowercase hex digits`);
  return ['/bin/sh', '-c', shQuote(WRAPPER_CODE), WRAPPER_NAME, shQuote(script), nonce].join(' ');
}

/** Output and exit status recovered from a wrapped command's stream. */
export interface ParsedOutput {
  /** Everything the command printed except the marker line, `\r\n` turned into `\n`, up to the cap. */
  output: string;
  exitCode: number;
  /** Raw bytes not kept because of the cap. */
  droppedBytes: number;
}

/**
 * Collects a wrapped command's raw pty bytes: keeps the first `maxOutputBytes`, counts the rest, and keeps a
 * window over the last bytes of the stream so the exit marker (printed last) is found even after the cap
 * overflowed. Decoding happens over the joined bytes, so a UTF-8 character split across frames comes out whole.
 */
export class OutputCollector {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  private totalBytes = 0;
  private seen = false;
  private readonly markerPattern: RegExp;

  constructor(
    nonce: string,
    private readonly maxOutputBytes: number,
  ) {
    if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) throw new ExecError(`maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`);
    this.markerPattern = new RegExp(`\\r?\\n${nonce}:(\\d{1,3})\\r?\\n`, 'g');
  }

  /** Adds a chunk of output as it arrives. */
  push(chunk: Buffer): void {
    // A marker completed by this chunk starts at most MARKER_MAX_BYTES before it.
    const recent = Buffer.concat([this.tail.subarray(Math.max(0, this.tail.length - MARKER_MAX_BYTES)), chunk]);
    this.markerPattern.lastIndex = 0;
    if (this.markerPattern.test(recent.toString('latin1'))) this.seen = true;
    this.totalBytes += chunk.length;
    const room = this.maxOutputBytes - this.headBytes;
    if (room > 0) {
      const kept = chunk.subarray(0, room);
      this.head.push(kept);
      this.headBytes += kept.length;
    }
    const joined = Buffer.concat([this.tail, chunk]);
    this.tail = joined.subarray(Math.max(0, joined.length - MARKER_TAIL_BYTES));
  }

  /** True once the exit marker has arrived (the command's shell has exited); cheap, called on every frame. */
  markerSeen(): boolean {
    return this.seen;
  }

  /** The output without the marker and its exit status; throws if the marker never came. */
  finish(): ParsedOutput {
    const marker = this.findMarker();
    if (!marker) {
      throw new ExecError(
        'the command ended without printing its exit status: the session closed early, the image has no /bin/sh, or a background job kept printing after the script ended (redirect its output)',
      );
    }
    const { start, end } = marker;
    // Output = the first maxOutputBytes of (stream without the marker): the part before the marker, then what
    // followed it (stray output of background jobs) while there is room.
    const max = this.maxOutputBytes;
    const contentBytes = this.totalBytes - (end - start);
    const before = this.slice(0, Math.min(start, max));
    const after = start < max ? this.slice(end, Math.min(this.totalBytes, end + max - start)) : Buffer.alloc(0);
    let kept = Buffer.concat([before, after]);
    if (kept.length < contentBytes) kept = kept.subarray(0, completeUtf8Length(kept));
    return {
      output: kept.toString('utf8').replace(/\r\n/g, '\n'),
      exitCode: marker.exitCode,
      droppedBytes: contentBytes - kept.length,
    };
  }

  /** Bytes [from, to) of the whole stream, taken from the head or from the tail window. */
  private slice(from: number, to: number): Buffer {
    if (to <= this.headBytes) return Buffer.concat(this.head).subarray(from, to);
    const tailStart = this.totalBytes - this.tail.length;
    if (from >= tailStart) return this.tail.subarray(from - tailStart, to - tailStart);
    throw new ExecError(`internal: stream bytes ${from}-${to} are neither kept nor in the tail window`);
  }

  private findMarker(): { start: number; end: number; exitCode: number } | undefined {
    const overflowed = this.headBytes < this.totalBytes;
    const window = overflowed ? this.tail : Buffer.concat(this.head);
    const windowStart = this.totalBytes - window.length;
    const text = window.toString('latin1');
    let last: RegExpExecArray | undefined;
    this.markerPattern.lastIndex = 0;
    for (let m = this.markerPattern.exec(text); m; m = this.markerPattern.exec(text)) last = m;
    if (!last) return undefined;
    return { start: windowStart + last.index, end: windowStart + last.index + last[0].length, exitCode: Number(last[1]) };
  }
}

/** The length of `bytes` without a UTF-8 character that the end cuts in half. */
function completeUtf8Length(bytes: Buffer): number {
  // Find the lead byte of the last character (at most 3 continuation bytes, 10xxxxxx, follow it).
  for (let i = bytes.length - 1; i >= 0 && i >= bytes.length - 4; i--) {
    const byte = bytes[i] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const width = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + width > bytes.length ? i : bytes.length;
  }
  return bytes.length;
}
