import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SECTIONS, type BenchOptions, type Section } from './results.js';

/** A bad command line: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The CLI's usage text. */
export const USAGE = `usage: npm run bench -- [--pg-size-mb 1000 | --size 10g] [--redis-keys 1000000] [--upload-sizes-mib 256,1024]
                        [--repeats 3] [--resume-upload] [--json FILE] [--only ${SECTIONS.join(',')}]
  --size takes the database size with a unit (500m, 1g, 10g); --resume-upload (on by default from 5 GB) also backs up
  once through Lambda invocations with a low time limit, so that the upload resumes over several of them.
  Measures every section when --only is not given; prints tables to stdout (progress to stderr) and writes
  the results as JSON (default bench-results/bench-<timestamp>.json).`;

/** Defaults of the numeric options. */
export const DEFAULTS = { pgSizeMb: 1000, redisKeys: 1_000_000, uploadSizesMiB: [256, 1024], repeats: 3 } as const;

/** The default JSON file of a run started at `now`: bench-results/bench-<ISO time without colons>.json. */
export function defaultJsonPath(now: Date): string {
  return join('bench-results', `bench-${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-')}.json`);
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return n;
}

/** From this database size on, a run backs up once more over short invocations (--resume-upload). */
export const RESUME_FROM_MB = 5000;

/** A database size with a unit, `500m`, `1g`, `10g` (MB and GB, powers of ten), in MB. */
function sizeMb(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([mg])b?$/i.exec(text.trim());
  const mb = m ? Number(m[1]) * (m[2]!.toLowerCase() === 'g' ? 1000 : 1) : NaN;
  if (!Number.isFinite(mb) || mb < 16 || mb > 1_000_000) throw new UsageError(`--size must be a size from 16m to 1000g like 500m, 1g or 10g, not "${text}"`);
  return Math.round(mb);
}

function list(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${flag} must be a comma-separated list without empty items, not "${text}"`);
  return items;
}

/** The run's options, or `help` for --help; throws UsageError (naming the flag) on anything it cannot use. */
export function parseBenchArgs(argv: readonly string[], now: Date = new Date()): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'pg-size-mb': { type: 'string' },
        size: { type: 'string' },
        'resume-upload': { type: 'boolean' },
        'redis-keys': { type: 'string' },
        'upload-sizes-mib': { type: 'string' },
        repeats: { type: 'string' },
        json: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs names the unknown option or the stray argument in its message.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const sizes = v['upload-sizes-mib'] === undefined ? [...DEFAULTS.uploadSizesMiB] : list('upload-sizes-mib', v['upload-sizes-mib']).map((s) => integer('upload-sizes-mib', s, 1, 16_384));
  if (new Set(sizes).size !== sizes.length) throw new UsageError(`--upload-sizes-mib lists a size twice: "${v['upload-sizes-mib']}"`);
  let only: Section[] = [...SECTIONS];
  if (v.only !== undefined) {
    const wanted = list('only', v.only);
    const unknown = wanted.filter((s) => !(SECTIONS as readonly string[]).includes(s));
    if (unknown.length > 0) throw new UsageError(`--only takes sections from ${SECTIONS.join(',')}, not "${unknown.join(',')}"`);
    only = SECTIONS.filter((s) => wanted.includes(s));
  }
  if (v.json !== undefined && v.json.trim() === '') throw new UsageError('--json needs a file name');
  if (v.size !== undefined && v['pg-size-mb'] !== undefined) throw new UsageError('--size and --pg-size-mb say the same thing: give one of them');
  const pgSizeMb = v.size !== undefined ? sizeMb(v.size) : v['pg-size-mb'] === undefined ? DEFAULTS.pgSizeMb : integer('pg-size-mb', v['pg-size-mb'], 16, 1_000_000);
  return {
    pgSizeMb,
    redisKeys: v['redis-keys'] === undefined ? DEFAULTS.redisKeys : integer('redis-keys', v['redis-keys'], 1, 1_000_000_000),
    uploadSizesMiB: sizes,
    repeats: v.repeats === undefined ? DEFAULTS.repeats : integer('repeats', v.repeats, 1, 100),
    resumeUpload: v['resume-upload'] ?? pgSizeMb >= RESUME_FROM_MB,
    jsonPath: v.json ?? defaultJsonPath(now),
    only,
  };
}
