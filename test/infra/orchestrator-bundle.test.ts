import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildOrchestratorBundle } from '../../modules/orchestrator-bundle.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('orchestrator bundle', () => {
  const outDir = tempDir('bundle-test');
  const first = buildOrchestratorBundle({ outDir });

  it('is an entry ES module and its chunks, which import only Node built-ins and each other', () => {
    expect(readdirSync(outDir).sort()).toEqual(first.files);
    expect(first.files).toContain('index.mjs');
    let total = 0;
    for (const name of first.files) {
      const code = readFileSync(join(outDir, name), 'utf8');
      const imports = [...code.matchAll(/\bfrom\s*"([^"]+)"|\bimport\("([^"]+)"\)/g)].map((m) => (m[1] ?? m[2])!);
      expect(imports.filter((s) => !s.startsWith('node:') && !first.files.includes(s.replace(/^\.\//, ''))), name).toEqual([]);
      // Bundled CommonJS code reaches Node built-ins through the createRequire banner.
      expect(code.startsWith("import { createRequire as __cjsRequire } from 'node:module';"), name).toBe(true);
      total += statSync(join(outDir, name)).size;
    }
    expect(first.bytes).toBe(total);
    expect(first.entryBytes).toBe(statSync(first.file).size);
  });

  it('keeps the restore and drill code and the SDK credential chain out of the entry and the chunks it loads at start', () => {
    const loadedAtStart = new Set<string>();
    const visit = (name: string) => {
      if (loadedAtStart.has(name)) return;
      loadedAtStart.add(name);
      const code = readFileSync(join(outDir, name), 'utf8');
      for (const m of code.matchAll(/\bfrom\s*"\.\/([^"]+)"/g)) visit(m[1]!);
    };
    visit('index.mjs');
    const startCode = [...loadedAtStart].map((name) => readFileSync(join(outDir, name), 'utf8')).join('\n');
    const everything = first.files.map((name) => readFileSync(join(outDir, name), 'utf8')).join('\n');
    // Strings only the restore workflow and the drill's table comparison hold.
    const lazy = ['refusing to restore into every database', 'is missing from the restore'];
    for (const marker of lazy) {
      expect(startCode.includes(marker), marker).toBe(false);
      expect(everything.includes(marker), marker).toBe(true);
    }
    // The SDK's default chain logs its sources by name; the Lambda's environment credentials replace it.
    expect(everything.includes('defaultProvider::fromSSO')).toBe(false);
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
    expect(readdirSync(outDir).sort()).toEqual(first.files);
  });
});
