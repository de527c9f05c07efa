import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupError } from '../functions/shared/errors.js';
import { FIXED_MTIME } from './orchestrator-bundle.js';

/** Where staged assets are kept: one directory per content hash, reused by later synths of the same content. */
const STAGING_ROOT = join(tmpdir(), 'ecs-db-backup-assets');

/**
 * The function's code directory: the built bundle plus data files (the validated targets), staged into a
 * directory named after their content so the zip, and so the function's code hash, changes exactly when
 * one of them does.
 *
 * Why the config travels in the code asset, not in an SSM parameter or an S3 object the stack writes:
 * a deploy then replaces code and config in one UpdateFunctionCode, so every invocation sees a matching
 * pair. With a parameter or an object, Terraform writes it and updates the function in separate calls,
 * so for a while (or for good, when an apply fails half-way) new code reads the old config or old code
 * the new one; the Lambda would also need a call and a permission on every cold start, and a standard
 * SSM parameter holds only 4 KB. A zip holds 50 MB.
 */
export function stageOrchestratorAsset(bundleDir: string, dataFiles: Readonly<Record<string, string>>): string {
  const bundleFiles = readdirSync(bundleDir).sort();
  for (const name of Object.keys(dataFiles)) {
    if (bundleFiles.includes(name)) throw new BackupError(`stageOrchestratorAsset: ${name} would overwrite a bundle file of ${bundleDir}`);
  }
  const hash = createHash('sha256');
  for (const name of bundleFiles) hash.update(`${name}\0`).update(readFileSync(join(bundleDir, name))).update('\0');
  for (const [name, text] of Object.entries(dataFiles).sort(([a], [b]) => a.localeCompare(b))) hash.update(`${name}\0${text}\0`);
  const dir = join(STAGING_ROOT, hash.digest('hex').slice(0, 32));
  if (existsSync(dir)) return dir;
  // Written aside and renamed: two synths at once (JSON and HCL) never see a half-written directory.
  const partial = `${dir}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  for (const name of bundleFiles) cpSync(join(bundleDir, name), join(partial, name), { recursive: true });
  for (const [name, text] of Object.entries(dataFiles)) writeFileSync(join(partial, name), text);
  for (const name of readdirSync(partial)) utimesSync(join(partial, name), FIXED_MTIME, FIXED_MTIME);
  utimesSync(partial, FIXED_MTIME, FIXED_MTIME);
  try {
    renameSync(partial, dir);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    // Another synth staged the same content first.
    if (!existsSync(dir)) throw error;
  }
  return dir;
}
