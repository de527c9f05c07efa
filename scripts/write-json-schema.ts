import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../functions/shared/config/schema.js';

/** The committed JSON Schema of the config file (editors autocomplete with it through `$schema`). */
export const SCHEMA_PATH = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'backup.config.schema.json');

/** Renders the JSON Schema of what a user may write (the input side: defaulted fields optional). */
export function renderJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input' });
  return `${JSON.stringify({ ...schema, title: 'ecs-db-backup configuration' }, null, 2)}\n`;
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`error: unknown argument ${unknown[0]}\nusage: write-json-schema [--check]\n`);
    return 2;
  }
  const rendered = renderJsonSchema();
  if (check) {
    let current = '';
    try {
      current = readFileSync(SCHEMA_PATH, 'utf8');
    } catch {
      // A missing file is simply out of date.
    }
    if (current !== rendered) {
      process.stderr.write(`error: ${SCHEMA_PATH} is out of date: run npm run schema\n`);
      return 1;
    }
    return 0;
  }
  writeFileSync(SCHEMA_PATH, rendered);
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
