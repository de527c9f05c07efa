import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A slow EFS for tests: reads of the files a pattern matches, below a byte offset, each take a set time, as reads
 * from a throttled EFS (burst credits spent) do. No file system here can be throttled, so node's own read calls are
 * wrapped: FileHandle reads from fs/promises.open and fs.createReadStream (live ESM bindings updated with
 * syncBuiltinESMExports, so code that imported them sees the wrapped ones). Every read is recorded.
 * The same module runs in the test process (slowEfs) and in the Lambda bundle's child (slowEfsEnv, via --import).
 */

const SOURCE = `
import { createRequire, syncBuiltinESMExports } from 'node:module';
const require = createRequire(import.meta.url);
const fsp = require('node:fs/promises');
const fs = require('node:fs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const state = { match: null, belowBytes: 0, delayMs: 0, reads: [] };
const delayFor = (path, position) => {
  const hit = state.match !== null && state.match.test(String(path));
  if (hit) state.reads.push({ path: String(path), position });
  return hit && position < state.belowBytes ? state.delayMs : 0;
};
const openOriginal = fsp.open;
fsp.open = async function open(path, ...rest) {
  const fh = await openOriginal.call(this, path, ...rest);
  const read = fh.read.bind(fh);
  fh.read = async (...args) => {
    const position = typeof args[3] === 'number' ? args[3] : -1;
    const ms = delayFor(path, position);
    if (ms > 0) await sleep(ms);
    return read(...args);
  };
  return fh;
};
const createReadStreamOriginal = fs.createReadStream;
fs.createReadStream = function createReadStream(path, options) {
  const opts = typeof options === 'string' ? { encoding: options } : { ...(options ?? {}) };
  opts.fs = {
    open: fs.open,
    close: fs.close,
    read(fd, buffer, offset, length, position, callback) {
      const ms = delayFor(path, typeof position === 'number' ? position : -1);
      setTimeout(() => fs.read(fd, buffer, offset, length, position, callback), ms);
    },
  };
  return createReadStreamOriginal.call(this, path, opts);
};
syncBuiltinESMExports();
/** Sets what is slow; reads of matching files are recorded from now on. */
export function configure(c) {
  state.match = c.match;
  state.belowBytes = c.belowBytes;
  state.delayMs = c.delayMs;
  state.reads = [];
}
/** Makes nothing slow any more; the reads recorded so far are kept. */
export function stop() {
  state.match = null;
}
/** Reads of matching files since configure. */
export function reads() {
  return state.reads;
}
if (process.env.SLOW_EFS_MATCH) {
  configure({ match: new RegExp(process.env.SLOW_EFS_MATCH), belowBytes: Number(process.env.SLOW_EFS_BELOW_BYTES ?? Infinity), delayMs: Number(process.env.SLOW_EFS_MS ?? 0) });
}
`;

/** What is slow: files whose path `match`es, reads starting below `belowBytes`, each `delayMs` long. */
export interface SlowEfsConfig {
  match: RegExp;
  belowBytes: number;
  delayMs: number;
}

/** One read of a matching file (position -1: at the current offset). */
export interface SlowEfsRead {
  path: string;
  position: number;
}

let modulePath: string | null = null;
function writeModule(): string {
  if (modulePath === null) {
    modulePath = join(mkdtempSync(join(tmpdir(), 'slow-efs-')), 'slow-efs.mjs');
    writeFileSync(modulePath, SOURCE);
  }
  return modulePath;
}

/** Makes reads in this process slow as configured until `off()`; `reads()` lists the reads of matching files in between. */
export async function slowEfs(config: SlowEfsConfig): Promise<{ reads(): SlowEfsRead[]; off(): void }> {
  const mod = (await import(pathToFileURL(writeModule()).href)) as {
    configure(c: SlowEfsConfig): void;
    stop(): void;
    reads(): SlowEfsRead[];
  };
  mod.configure(config);
  return { reads: () => mod.reads(), off: () => mod.stop() };
}

/** Environment for the Lambda bundle's child process that makes its EFS reads slow as configured. */
export function slowEfsEnv(config: SlowEfsConfig): Record<string, string> {
  return {
    NODE_OPTIONS: `--import=${pathToFileURL(writeModule()).href}`,
    SLOW_EFS_MATCH: config.match.source,
    SLOW_EFS_BELOW_BYTES: String(config.belowBytes),
    SLOW_EFS_MS: String(config.delayMs),
  };
}
