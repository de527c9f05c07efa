import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

function remover(dir: string): () => void {
  return () => rmSync(dir, { recursive: true, force: true });
}

/**
 * A fresh directory under the OS temp dir, removed when the current test ends (pass or fail) when called
 * inside a test, or after the enclosing describe/file when called while tests are collected.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  try {
    onTestFinished(remover(dir));
  } catch {
    // not inside a test: we are collecting (top level or a describe body)
    afterAll(remover(dir));
  }
  return dir;
}
