import type { EfsState } from '../shared/adapters/efs-state.js';
import { UnsafeEfsPathError } from '../shared/adapters/efs-no-follow.js';

/** What the orchestrator answers a probe: whether it sees the file, and its (small) content; `error` when it refused to read it. */
export interface ProbeAnswer {
  ok: boolean;
  found: boolean;
  content: string | null;
  error?: string;
}

/**
 * Answers the exec-checker's probe: reads the `.probe-<id>` file the target's container wrote into its own directory
 * (`<root>/<target>`, its access point's root) and compares it with `expect`.
 * A link, a non-regular file or an oversized one is refused with a reason and never read (its content would be
 * whatever the link points at: /proc/self/environ holds the Lambda's credentials).
 */
export async function answerProbe(state: EfsState, target: string, request: { file: string; expect?: string | undefined }): Promise<ProbeAnswer> {
  let content: string | null;
  try {
    content = await state.readProbeFile(target, request.file);
  } catch (error) {
    if (error instanceof UnsafeEfsPathError) return { ok: false, found: true, content: null, error: `refused to read the probe file: ${error.message}` };
    throw error;
  }
  const found = content !== null;
  const ok = found && (request.expect === undefined || content!.trim() === request.expect.trim());
  return { ok, found, content };
}
