import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MARKER_TAIL_BYTES, newNonce, OutputCollector, wrapScript } from '../../functions/shared/exec/command-wrapper.js';
import { ExecError } from '../../functions/shared/exec/errors.js';
import { shlexSplit } from '../../scripts/standin/shlex.js';

const NONCE = '0123456789abcdef0123456789abcdef';

/** Runs the wrapped command the way the agent does: shlex split, exec argv, no shell around it. */
function runLikeAgent(script: string, shell: string[] = []): { stdout: string; argv: string[] } {
  const argv = shlexSplit(wrapScript(script, NONCE));
  const [file, ...args] = shell.length > 0 ? [...shell, ...argv.slice(1)] : argv;
  const run = spawnSync(file as string, args, { encoding: 'utf8', timeout: 10_000 });
  return { stdout: `${run.stdout}${run.stderr}`, argv };
}

function parse(stdout: string, maxOutputBytes = 1 << 20) {
  const collector = new OutputCollector(NONCE, maxOutputBytes);
  // The agent's pty turns \n into \r\n; do the same so the parser sees what it will see in ECS.
  collector.push(Buffer.from(stdout.replace(/\n/g, '\r\n')));
  return collector.finish();
}

describe('shlex splitting (the test helper itself)', () => {
  it.each([
    ['echo #x', ['echo']],
    ['a#b c', ['a#b', 'c']],
    [`'it'"'"'s' "a\\"b" x\\ y`, ["it's", 'a"b', 'x y']],
    ["''", ['']],
    ['a # c\nb', ['a', 'b']],
  ])('splits %j into %j', (input, expected) => {
    expect(shlexSplit(input)).toEqual(expected);
  });
});

describe('wrapScript', () => {
  const scripts = [
    'echo hello',
    "echo 'single' \"double\" it's",
    'echo # not a comment inside quotes',
    '#!/bin/sh\n# a comment line\necho after comment',
    'printf "%s\\n" "héllo wörld ✓ 😀"',
    'x=1\nif [ "$x" = 1 ]; then\n  echo multi-line\nfi',
    "echo '\"'\"'\"' ; echo \\\\ backslash",
    'case a in a) echo case ;; esac',
    "echo 'unbalanced",
    '',
  ];

  it.each(scripts)('passes %j to /bin/sh as one argument, unchanged', (script) => {
    const argv = shlexSplit(wrapScript(script, NONCE));
    expect(argv).toHaveLength(6);
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[4]).toBe(script);
    expect(argv[5]).toBe(NONCE);
  });

  it('passes any script through shlex unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\0')), (script) => {
        expect(shlexSplit(wrapScript(script, NONCE))[4]).toBe(script);
      }),
    );
  });

  it.each([
    ['exit 0', 0, ''],
    ['exit 1', 1, ''],
    ['echo out; exit 2', 2, 'out\n'],
    ['no-such-command-here', 127, undefined],
    ['exit 255', 255, ''],
    ['false', 1, ''],
    ['echo "$0" "$#"', 0, '/bin/sh 0\n'],
    ['echo "it\'s" \'"quoted"\' "# and a hash"', 0, 'it\'s "quoted" # and a hash\n'],
    ['printf "héllo ✓"', 0, 'héllo ✓'],
    ['echo one\nexit 3\necho never', 3, 'one\n'],
    ['if then fi', 2, undefined],
    ['echo no newline at the end | tr -d "\\n"', 0, 'no newline at the end'],
    ['read line; echo "read:$line:$?"', 0, 'read::1\n'],
    ['echo err >&2', 0, 'err\n'],
  ])('runs %j and reports exit status %i', (script, exitCode, output) => {
    for (const shell of [[], ['busybox', 'sh']]) {
      const { stdout } = runLikeAgent(script, shell);
      const parsed = parse(stdout);
      expect(parsed.exitCode).toBe(exitCode);
      if (output !== undefined) expect(parsed.output).toBe(output);
      expect(parsed.output).not.toContain(NONCE);
    }
  });

  it('rejects a script with a NUL byte and a malformed nonce', () => {
    expect(() => wrapScript('a\0b', NONCE)).toThrow(ExecError);
    expect(() => wrapScript('true', "x'; rm -rf /")).toThrow(ExecError);
  });

  it('makes a fresh 32-hex-digit nonce each call', () => {
    const a = newNonce();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(newNonce()).not.toBe(a);
  });
});

describe('OutputCollector', () => {
  it.each([
    ['plain output', `hello\r\n\r\n${NONCE}:0\r\n`, 'hello\n', 0],
    ['output without a final newline', `hello\r\n${NONCE}:7\r\n`, 'hello', 7],
    ['a fake marker with another nonce', `ffffffffffffffffffffffffffffffff:0\r\n\r\n${NONCE}:4\r\n`, 'ffffffffffffffffffffffffffffffff:0\n', 4],
    ['the nonce without digits (as in ps output)', `sh -c ... ${NONCE}\r\n\r\n${NONCE}:1\r\n`, `sh -c ... ${NONCE}\n`, 1],
    ['a marker printed by the script before the real one', `\r\n${NONCE}:9\r\nmore\r\n\r\n${NONCE}:2\r\n`, `\n${NONCE}:9\nmore\n`, 2],
    ['background output after the marker', `a\r\n\r\n${NONCE}:0\r\nlate\r\n`, 'a\nlate\n', 0],
  ])('parses %s', (_name, stream, output, exitCode) => {
    const collector = new OutputCollector(NONCE, 1 << 20);
    for (const byte of Buffer.from(stream)) collector.push(Buffer.from([byte]));
    expect(collector.markerSeen()).toBe(true);
    expect(collector.finish()).toEqual({ output, exitCode, droppedBytes: 0 });
  });

  it('throws when the marker never arrived', () => {
    const collector = new OutputCollector(NONCE, 100);
    collector.push(Buffer.from(`partial\r\n${NONCE}:`));
    expect(collector.markerSeen()).toBe(false);
    expect(() => collector.finish()).toThrow(/without printing its exit status/);
  });

  it('keeps the first maxOutputBytes, counts the rest and still finds the marker', () => {
    const body = 'x'.repeat(10_000);
    const collector = new OutputCollector(NONCE, 1000);
    for (let i = 0; i < body.length; i += 700) collector.push(Buffer.from(body.slice(i, i + 700)));
    collector.push(Buffer.from(`\r\n${NONCE}:5\r\n`));
    expect(collector.finish()).toEqual({ output: 'x'.repeat(1000), exitCode: 5, droppedBytes: 9000 });
  });

  it('finds a marker that straddles the cap', () => {
    const collector = new OutputCollector(NONCE, 10);
    collector.push(Buffer.from(`12345678\r\n${NONCE}:3\r\n`));
    expect(collector.finish()).toEqual({ output: '12345678', exitCode: 3, droppedBytes: 0 });
  });

  it('does not cut a UTF-8 character in half at the cap', () => {
    const collector = new OutputCollector(NONCE, 5);
    collector.push(Buffer.from(`ab😀cd\r\n${NONCE}:0\r\n`));
    expect(collector.finish()).toEqual({ output: 'ab', exitCode: 0, droppedBytes: 6 });
  });

  it('decodes characters split across chunks', () => {
    const collector = new OutputCollector(NONCE, 1 << 20);
    const bytes = Buffer.from(`ü✓😀\r\n${NONCE}:0\r\n`);
    for (const byte of bytes) collector.push(Buffer.from([byte]));
    expect(collector.finish().output).toBe('ü✓😀');
  });

  it('keeps output + dropped = everything but the marker, for any chunking and cap', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 3000 }).filter((s) => !s.includes(NONCE)),
        fc.integer({ min: 0, max: 4000 }),
        fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 255 }),
        (text, max, sizes, exitCode) => {
          const stream = Buffer.from(`${text}\r\n${NONCE}:${exitCode}\r\n`);
          const collector = new OutputCollector(NONCE, max);
          let offset = 0;
          for (let i = 0; offset < stream.length; i++) {
            const size = sizes[i % sizes.length] as number;
            collector.push(stream.subarray(offset, offset + size));
            offset += size;
          }
          const result = collector.finish();
          const content = Buffer.from(text);
          expect(result.exitCode).toBe(exitCode);
          const keptBytes = content.length - result.droppedBytes;
          expect(keptBytes).toBeLessThanOrEqual(max);
          expect(keptBytes).toBeGreaterThan(Math.min(max, content.length) - 4);
          const kept = content.subarray(0, keptBytes);
          // A prefix cut at a character boundary is valid UTF-8; a cut inside a character is not.
          expect(() => new TextDecoder('utf-8', { fatal: true }).decode(kept)).not.toThrow();
          expect(result.output).toBe(kept.toString('utf8').replace(/\r\n/g, '\n'));
        },
      ),
    );
  });

  it('keeps a tail window larger than the marker', () => {
    expect(MARKER_TAIL_BYTES).toBeGreaterThan(`\r\n${NONCE}:255\r\n`.length * 10);
  });
});
