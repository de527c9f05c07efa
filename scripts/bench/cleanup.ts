/** Stops of the servers a suite has running, so an interrupt (Ctrl-C, SIGTERM) can still stop them by PID. */
const stops = new Set<() => Promise<void>>();

/** Runs `body` with `stop` registered for interrupts, then stops the server whether `body` succeeded or failed. */
export async function withServer<T>(stop: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  stops.add(stop);
  try {
    return await body();
  } finally {
    stops.delete(stop);
    await stop();
  }
}

/** Stops every server still registered (for the signal handler of the CLI). */
export async function stopAll(): Promise<void> {
  const pending = [...stops];
  stops.clear();
  await Promise.allSettled(pending.map((stop) => stop()));
}
