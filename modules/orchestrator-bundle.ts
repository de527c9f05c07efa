import { mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
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
/** File name of the bundle's entry; the Lambda handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/** A fixed mtime for bundle files, so the zip (and the function's code hash) depends on content only. */
export const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

// Bundled CommonJS dependencies call require() for Node built-ins, which an ES module lacks.
const REQUIRE_BANNER = "import { createRequire as __cjsRequire } from 'node:module'; const require = __cjsRequire(import.meta.url);";

/** Where the Lambda finds its credentials instead of the SDK's whole default chain (see functions/orchestrator/lambda-credentials.ts). */
const LAMBDA_CREDENTIALS = join(REPO_ROOT, 'functions/orchestrator/lambda-credentials.ts');

/** Where and what the bundle was written. */
export interface BundleResult {
  /** Directory holding only the bundle: the entry file and the chunks it loads. */
  readonly dir: string;
  /** Path of the entry file (the handler's module). */
  readonly file: string;
  /** Size of every file of the bundle together, in bytes: what the zip holds. */
  readonly bytes: number;
  /** Size of the entry file alone, in bytes. */
  readonly entryBytes: number;
  /** File names of the bundle (the entry and its chunks), sorted. */
  readonly files: readonly string[];
  /** Whether any file changed on disk (false: content identical to the previous build). */
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
 * Bundles the orchestrator with esbuild into minified ESM for Lambda's nodejs22.x on arm64, keeping function and
 * class names (so `err.name` is the error class's name). Everything is bundled, the AWS SDK included, so the deployed
 * code runs the versions in the lockfile. Code split: what only restores and drills (and the SDK's unused credential
 * sources) need sits in chunks that are loaded when first used, so a cold start compiles the backup path only.
 * Files are rewritten only when their content changes and get a fixed mtime, so repeated synths produce
 * byte-identical archives.
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
    // The SDK's ES modules (dist-es) rather than its CommonJS files: esbuild drops the commands and shapes never used.
    mainFields: ['module', 'main'],
    alias: { '@aws-sdk/credential-provider-node': LAMBDA_CREDENTIALS },
    splitting: true,
    outdir: dir,
    entryNames: 'index',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    banner: { js: REQUIRE_BANNER },
    write: false,
    logLevel: 'silent',
  });
  if (!result.outputFiles.some((f) => f.path === file)) throw new BackupError(`esbuild produced no ${BUNDLE_FILE} for ${entry}`);
  mkdirSync(dir, { recursive: true });
  const files = result.outputFiles.map((f) => basename(f.path)).sort();
  for (const name of readdirSync(dir)) if (!files.includes(name)) rmSync(join(dir, name), { recursive: true, force: true });
  let changed = false;
  for (const output of result.outputFiles) {
    const previous = readIfExists(output.path);
    if (previous === undefined || !previous.equals(output.contents)) {
      writeFileSync(output.path, output.contents);
      changed = true;
    }
    utimesSync(output.path, FIXED_MTIME, FIXED_MTIME);
  }
  utimesSync(dir, FIXED_MTIME, FIXED_MTIME);
  const bytes = result.outputFiles.reduce((sum, f) => sum + f.contents.byteLength, 0);
  const entryBytes = result.outputFiles.find((f) => f.path === file)!.contents.byteLength;
  return { dir, file, bytes, entryBytes, files, changed };
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
