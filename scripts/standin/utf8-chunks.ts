/** The agent reads the pty 1024 bytes at a time (StreamDataPayloadSize). */
export const FRAME_PAYLOAD_SIZE = 1024;

function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

/**
 * Cuts the next frame payload off buffered pty output: at most 1024 bytes, extended by up to 3 bytes so a
 * UTF-8 character is never split (the agent's carry-over). An incomplete character at the very end is held
 * back until more output arrives, unless `final` (the pty has ended). Undefined when nothing can be sent yet.
 */
export function takeFrameChunk(pending: Buffer, final: boolean): { chunk: Buffer; rest: Buffer } | undefined {
  if (pending.length === 0) return undefined;
  let end = Math.min(FRAME_PAYLOAD_SIZE, pending.length);
  // Find the start of the last (possibly incomplete) character before `end`.
  let lead = end - 1;
  while (lead > 0 && lead > end - 4 && (pending[lead]! & 0xc0) === 0x80) lead--;
  const needed = sequenceLength(pending[lead]!);
  if (lead + needed > end) {
    if (lead + needed <= pending.length) end = lead + needed;
    else if (!final) end = lead;
    else end = pending.length > FRAME_PAYLOAD_SIZE ? end : pending.length;
  }
  if (end === 0) return final ? { chunk: pending, rest: Buffer.alloc(0) } : undefined;
  return { chunk: pending.subarray(0, end), rest: pending.subarray(end) };
}
