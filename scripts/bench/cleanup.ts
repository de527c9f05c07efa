/** Cleanups of what a suite has running (servers, stopped by PID) or written, so an interrupt (Ctrl-C, SIGTERM) still runs them. */
const stops = new Set<() => Promise<void>>();
/** Set by stopAll: nothing new starts after an interrupt. */
let stopping = false;

/** Thrown instead of starting anything once stopAll has run. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/** Runs `body` with `cleanup` registered for interrupts, then runs `cleanup` (once) whether `body` succeeded or failed. */
export async function withCleanup<T>(cleanup: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= cleanup());
  if (stopping) {
    await stop();
    throw new InterruptedError('interrupted');
  }
  stops.add(stop);
  try {
    return await body();
  } finally {
    stops.delete(stop);
    await stop();
  }
}

/**
 * Starts something with `start` and runs `body` with it, stopping it afterwards; its stop is registered before it has
 * started, so an interrupt during a start (a postmaster forked by pg_ctl would outlive us) still stops it once it is up.
 */
export async function withStarted<S extends { stop(): Promise<void> }, T>(start: () => Promise<S>, body: (started: S) => Promise<T>): Promise<T> {
  if (stopping) throw new InterruptedError('interrupted');
  const starting = start();
  const stop = () => starting.then((s) => s.stop(), () => undefined);
  return withCleanup(stop, async () => body(await starting));
}

/** Runs every cleanup still registered, and refuses new starts (for the signal handler of the CLI). */
export async function stopAll(): Promise<void> {
  stopping = true;
  const pending = [...stops];
  stops.clear();
  await Promise.allSettled(pending.map((stop) => stop()));
}
