import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ORCHESTRATOR_ENTRY } from '../../modules/orchestrator-bundle.js';
import { AWS_CALLS } from './aws-calls.js';

// aws-calls.ts must name every SDK command in functions/, with the right caller: a command a file of
// the Lambda bundle imports is sent with the orchestrator's role and must be simulated against it.

const ROOT = join(import.meta.dirname, '../..');
const FUNCTIONS = join(ROOT, 'functions');

/** One value imported from an @aws-sdk package. */
interface SdkImport {
  readonly file: string;
  readonly name: string;
  readonly client: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** The values (not types) each file imports from @aws-sdk/*; a namespace or default import fails, as its calls cannot be listed. */
function sdkImports(file: string): SdkImport[] {
  const text = readFileSync(file, 'utf8');
  const rel = relative(ROOT, file);
  const opaque = /import\s+(\*\s+as\s+\w+|\w+)\s*(,\s*\{[^}]*\})?\s*from\s*'(@aws-sdk\/[^']+)'/.exec(text);
  if (opaque !== null) throw new Error(`${rel} imports ${opaque[1]} from ${opaque[3]}: import the commands by name so the call list can see them`);
  if (/import\(\s*'@aws-sdk\//.test(text)) throw new Error(`${rel} imports @aws-sdk dynamically: import the commands by name so the call list can see them`);
  return [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/[^']+)'/g)].flatMap((m) =>
    (m[1] ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '' && !n.startsWith('type '))
      .map((n) => ({ file: rel, name: n.split(/\s+as\s+/)[0] ?? n, client: m[2] ?? '' })),
  );
}

/** The files under functions/ that esbuild puts into the orchestrator bundle. */
function lambdaFiles(): Set<string> {
  const result = buildSync({ entryPoints: [ORCHESTRATOR_ENTRY], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', absWorkingDir: ROOT });
  return new Set(Object.keys(result.metafile.inputs).filter((f) => f.startsWith('functions/')));
}

const imports = sourceFiles(FUNCTIONS).flatMap(sdkImports);
const inLambda = lambdaFiles();
const listed = (name: string, client: string, by: 'orchestrator' | 'operator') => AWS_CALLS.some((c) => c.command === name && c.client === client && c.by === by);

describe('the AWS call list', () => {
  it('finds the SDK imports of functions/ (the scan works)', () => {
    expect(imports.some((i) => i.name === 'PutObjectCommand' && i.file === 'functions/shared/adapters/s3-backups.ts')).toBe(true);
    expect(inLambda.has('functions/orchestrator/handler.ts')).toBe(true);
    expect(inLambda.has('functions/shared/exec-checker/run.ts')).toBe(false);
  });

  it('imports only clients and commands from @aws-sdk (a paginator or waiter sends calls the list cannot see)', () => {
    expect(imports.filter((i) => !/(Client|Command)$/.test(i.name)).map((i) => `${i.file}: ${i.name}`)).toEqual([]);
  });

  it('lists every command a file of the Lambda bundle imports, as an orchestrator call', () => {
    const missing = imports.filter((i) => i.name.endsWith('Command') && inLambda.has(i.file) && !listed(i.name, i.client, 'orchestrator'));
    expect(missing.map((i) => `${i.file}: ${i.name} (${i.client})`)).toEqual([]);
  });

  it('lists every command the other files (exec-check) import, as an operator call', () => {
    const missing = imports.filter((i) => i.name.endsWith('Command') && !inLambda.has(i.file) && !listed(i.name, i.client, 'operator'));
    expect(missing.map((i) => `${i.file}: ${i.name} (${i.client})`)).toEqual([]);
  });

  it('lists nothing the code no longer sends', () => {
    const sent = (by: string, name: string, client: string) =>
      imports.some((i) => i.name === name && i.client === client && (by === 'orchestrator') === inLambda.has(i.file));
    expect(AWS_CALLS.filter((c) => !sent(c.by, c.command, c.client)).map((c) => `${c.by}: ${c.command}`)).toEqual([]);
  });

  it('names each command once per caller', () => {
    const keys = AWS_CALLS.map((c) => `${c.by} ${c.client} ${c.command}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });
});
