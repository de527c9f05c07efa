import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildOrchestratorBundle } from '../../modules/orchestrator-bundle.js';
import type { BundleResult } from './results.js';
import { median } from './timed.js';

/** Fresh node processes timed for the import (and as many for the baseline). */
export const IMPORT_RUNS = 10;

/** Options of the bundle benchmark. */
export interface BundleBenchOptions {
  work: string;
  log: (line: string) => void;
}

function timeNode(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_NO_WARNINGS: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} failed (exit ${code}): ${stderr.slice(-1000)}`));
    });
  });
}

/**
 * Builds the orchestrator bundle as the product does (modules/orchestrator-bundle.ts) and times its cold import (the
 * entry and the chunks it loads at start; restore and drill chunks load on their first use):
 * the median of IMPORT_RUNS fresh `node` processes importing it, against as many `node -e ''`, alternating.
 */
export async function benchBundle(opts: BundleBenchOptions): Promise<BundleResult> {
  const dir = join(opts.work, 'orchestrator-bundle');
  mkdirSync(dir, { recursive: true });
  const built = buildOrchestratorBundle({ outDir: dir });
  const url = pathToFileURL(built.file).href;
  opts.log(`bundle: ${built.bytes} bytes in ${built.files.length} files (entry ${built.entryBytes}); timing ${IMPORT_RUNS} cold imports...`);
  const baseline: number[] = [];
  const imports: number[] = [];
  for (let i = 0; i < IMPORT_RUNS; i++) {
    baseline.push(await timeNode(['-e', '']));
    imports.push(await timeNode(['--input-type=module', '-e', `await import(${JSON.stringify(url)});`]));
  }
  const nodeBaselineMs = median(baseline);
  const importMs = median(imports);
  return {
    bytes: built.bytes,
    entryBytes: built.entryBytes,
    files: built.files.length,
    gzipBytes: built.files.reduce((sum, name) => sum + gzipSync(readFileSync(join(dir, name)), { level: 9 }).length, 0),
    importRuns: IMPORT_RUNS,
    nodeBaselineMs,
    importMs,
    importNetMs: importMs - nodeBaselineMs,
  };
}
