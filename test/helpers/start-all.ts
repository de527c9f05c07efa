/** Anything a test starts and must stop. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Starts servers in parallel like Promise.all, but when one fails to start, stops the ones that did before
 * rethrowing: with Promise.all nothing is assigned, so afterAll cannot stop them (pg_ctl's server outlives us).
 */
export async function startAll<T extends readonly Stoppable[]>(starting: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starting as readonly Promise<Stoppable>[]);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed === undefined) return settled.map((s) => (s as PromiseFulfilledResult<Stoppable>).value) as unknown as T;
  await Promise.allSettled(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
  throw failed.reason;
}
