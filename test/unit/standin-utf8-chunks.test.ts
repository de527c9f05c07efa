import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_PAYLOAD_SIZE, takeFrameChunk } from '../../scripts/standin/utf8-chunks.js';

function chunksOf(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let rest = data;
  for (let taken = takeFrameChunk(rest, true); taken; taken = takeFrameChunk(rest, true)) {
    out.push(taken.chunk);
    rest = taken.rest;
  }
  return out;
}

describe('takeFrameChunk', () => {
  it('cuts ASCII output into 1024-byte payloads', () => {
    const sizes = chunksOf(Buffer.alloc(2500, 'a')).map((c) => c.length);
    expect(sizes).toEqual([1024, 1024, 452]);
  });

  it('extends a payload by the rest of a character cut at 1024 bytes', () => {
    const data = Buffer.concat([Buffer.alloc(1023, 'a'), Buffer.from('€b')]);
    expect(chunksOf(data).map((c) => c.toString('utf8'))).toEqual([`${'a'.repeat(1023)}€`, 'b']);
  });

  it('holds back an incomplete character at the end until more output arrives', () => {
    const euro = Buffer.from('€');
    const taken = takeFrameChunk(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 2)]), false);
    expect(taken?.chunk.toString()).toBe('ab');
    expect(taken?.rest).toEqual(euro.subarray(0, 2));
    expect(takeFrameChunk(euro.subarray(0, 2), false)).toBeUndefined();
  });

  it('sends an incomplete character at the end once the pty has ended', () => {
    const partial = Buffer.from('€').subarray(0, 2);
    expect(takeFrameChunk(partial, true)?.chunk).toEqual(partial);
  });

  it('never splits a character and never exceeds 1024 + 3 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (text) => {
        const data = Buffer.from(text, 'utf8');
        const chunks = chunksOf(data);
        expect(Buffer.concat(chunks)).toEqual(data);
        for (const chunk of chunks) {
          expect(chunk.length).toBeLessThanOrEqual(FRAME_PAYLOAD_SIZE + 3);
          expect(Buffer.from(chunk.toString('utf8'), 'utf8')).toEqual(chunk);
        }
      }),
    );
  });
});
