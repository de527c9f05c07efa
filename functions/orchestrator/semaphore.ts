/** A counting semaphore: at most `size` holders at once, the rest wait in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /** Runs `work` if a slot is free now (freeing it when it settles); resolves to null without running it otherwise. */
  async tryUse<T>(work: () => Promise<T>): Promise<T | null> {
    if (this.active >= this.size) return null;
    return this.use(work);
  }

  /** Runs `work` once a slot is free and frees the slot when it settles. */
  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
