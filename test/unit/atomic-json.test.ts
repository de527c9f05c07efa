import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '../../functions/shared/adapters/atomic-json.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('writeJsonAtomic', () => {
  it('replaces the file with pretty JSON and a final newline, leaving no temporary file', async () => {
    const dir = tempDir('atomic-json');
    const path = join(dir, 'state.json');
    writeFileSync(path, 'old');

    await writeJsonAtomic(path, { a: 1, b: ['x'] });

    expect(readFileSync(path, 'utf8')).toBe('{\n  "a": 1,\n  "b": [\n    "x"\n  ]\n}\n');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('throws the error as it came and removes the temporary file when the rename fails', async () => {
    const dir = tempDir('atomic-json');
    // A directory in the way: writing the temporary file beside it works, renaming over it does not.
    const path = join(dir, 'taken');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'x');

    await expect(writeJsonAtomic(path, { a: 1 })).rejects.toMatchObject({ code: 'EISDIR' });

    expect(readdirSync(dir)).toEqual(['taken']);
  });
});
