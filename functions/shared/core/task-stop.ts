/**
 * Why a runner task stopped, in words, from what DescribeTasks says of a STOPPED task: its stop code and
 * reason, and the exit code (or reason) of its container. Pure.
 */

/** The fields of a described task this reads (the SDK's Task fits). */
export interface StoppedTaskView {
  stopCode?: string | undefined;
  stoppedReason?: string | undefined;
  containers?: { name?: string | undefined; exitCode?: number | undefined; reason?: string | undefined }[] | undefined;
}

/** Exit codes that mean a signal killed the process (128 + signal number). */
const SIGNALS: Record<number, string> = { 137: 'SIGKILL: out of memory or stopped after the stop timeout', 143: 'SIGTERM', 139: 'SIGSEGV' };

/** "EssentialContainerExited: Essential container in task exited; container dump exited with code 137 (SIGKILL: ...)". */
export function stoppedTaskReason(task: StoppedTaskView, container: string): string {
  const parts: string[] = [];
  const head = [task.stopCode, task.stoppedReason].filter((s) => s !== undefined && s !== '').join(': ');
  if (head !== '') parts.push(head);
  const c = task.containers?.find((x) => x.name === container);
  if (c?.exitCode !== undefined) {
    const signal = SIGNALS[c.exitCode];
    parts.push(`container ${container} exited with code ${c.exitCode}${signal ? ` (${signal})` : ''}`);
  }
  if (c?.reason) parts.push(`container ${container}: ${c.reason}`);
  return parts.length > 0 ? parts.join('; ') : 'ECS gave no reason';
}
