/** Cleanups of what a suite has running (servers, stopped by PID) or written, so an interrupt (Ctrl-C, SIGTERM) still runs them. */
const stops = new Set<() => Promise<void>>();

/** Runs `body` with `cleanup` registered for interrupts, then runs `cleanup` (once) whether `body` succeeded or failed. */
export async function withCleanup<T>(cleanup: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= cleanup());
  stops.add(stop);
  try {
    return await body();
  } finally {
    stops.delete(stop);
    await stop();
  }
}

/** Runs every cleanup still registered (for the signal handler of the CLI). */
export async function stopAll(): Promise<void> {
  const pending = [...stops];
  stops.clear();
  await Promise.allSettled(pending.map((stop) => stop()));
}
