import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildOrchestratorBundle } from '../../modules/orchestrator-bundle.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('orchestrator bundle', () => {
  const outDir = tempDir('bundle-test');
  const first = buildOrchestratorBundle({ outDir });

  it('is one self-contained ES module that imports only Node built-ins', () => {
    expect(readdirSync(outDir)).toEqual(['index.mjs']);
    const code = readFileSync(first.file, 'utf8');
    const imports = [...code.matchAll(/\bfrom\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((s) => !s?.startsWith('node:'))).toEqual([]);
    // Bundled CommonJS code reaches Node built-ins through the createRequire banner.
    expect(code.startsWith("import { createRequire as __cjsRequire } from 'node:module';")).toBe(true);
    expect(first.bytes).toBe(statSync(first.file).size);
  });

  it('exports the handler when Node imports it', () => {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(first.file)}); process.stdout.write(typeof m.handler);`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('function');
  });

  it('is rebuilt byte-identical with a fixed mtime, so the zip hash only follows the code', () => {
    const second = buildOrchestratorBundle({ outDir });
    expect(second.changed).toBe(false);
    expect(statSync(second.file).mtime.toISOString()).toBe('2000-01-01T00:00:00.000Z');
  });

  it('removes stray files from its directory', () => {
    writeFileSync(join(outDir, 'stale.js'), 'x');
    buildOrchestratorBundle({ outDir });
    expect(readdirSync(outDir)).toEqual(['index.mjs']);
  });
});
