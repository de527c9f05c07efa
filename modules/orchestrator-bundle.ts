import { mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { BackupError } from '../functions/shared/errors.js';

/** Repository root (this file lives in modules/). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Entry point of the orchestrator Lambda. */
export const ORCHESTRATOR_ENTRY = join(REPO_ROOT, 'functions/orchestrator/handler.ts');
/** Directory the bundle is written to; packaged as the Lambda's zip. */
export const ORCHESTRATOR_BUNDLE_DIR = join(REPO_ROOT, 'dist/orchestrator');
/** Environment variable naming a prebuilt bundle directory for main.ts to package instead of building. */
export const BUNDLE_DIR_ENV = 'ORCHESTRATOR_BUNDLE_DIR';
/** File name of the bundle; the Lambda handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/** A fixed mtime for bundle files, so the zip (and the function's code hash) depends on content only. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

// Bundled CommonJS dependencies call require() for Node built-ins, which an ES module lacks.
const REQUIRE_BANNER = "import { createRequire as __cjsRequire } from 'node:module'; const require = __cjsRequire(import.meta.url);";

/** Where and what the bundle was written. */
export interface BundleResult {
  /** Directory holding only the bundle. */
  readonly dir: string;
  /** Path of the bundle file. */
  readonly file: string;
  /** Size of the bundle in bytes. */
  readonly bytes: number;
  /** Whether the bundle changed on disk (false: content identical to the previous build). */
  readonly changed: boolean;
}

/** Options of {@link buildOrchestratorBundle}. */
export interface BundleOptions {
  /** Entry point. Default: {@link ORCHESTRATOR_ENTRY}. */
  readonly entry?: string;
  /** Output directory (emptied of other files). Default: {@link ORCHESTRATOR_BUNDLE_DIR}. */
  readonly outDir?: string;
}

/**
 * Bundles the orchestrator with esbuild into one minified ESM file for Lambda's nodejs22.x on arm64,
 * keeping function and class names (so `err.name` is the error class's name).
 * Everything is bundled, the AWS SDK included, so the deployed code runs the versions in the lockfile.
 * The file is rewritten only when its content changes and gets a fixed mtime, so repeated synths
 * produce byte-identical archives.
 */
export function buildOrchestratorBundle(options: BundleOptions = {}): BundleResult {
  const entry = options.entry ?? ORCHESTRATOR_ENTRY;
  const dir = options.outDir ?? ORCHESTRATOR_BUNDLE_DIR;
  const file = join(dir, BUNDLE_FILE);
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    // Error classes set `name` from the constructor's name; without this, logs and answers would say "t".
    keepNames: true,
    legalComments: 'none',
    banner: { js: REQUIRE_BANNER },
    outfile: file,
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles.find((f) => f.path === file) ?? result.outputFiles[0];
  if (output === undefined) throw new BackupError(`esbuild produced no output for ${entry}`);
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) if (name !== BUNDLE_FILE) rmSync(join(dir, name), { recursive: true, force: true });
  const previous = readIfExists(file);
  const changed = previous === undefined || !previous.equals(output.contents);
  if (changed) writeFileSync(file, output.contents);
  utimesSync(file, FIXED_MTIME, FIXED_MTIME);
  utimesSync(dir, FIXED_MTIME, FIXED_MTIME);
  return { dir, file, bytes: output.contents.byteLength, changed };
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
