/**
 * One computation at a time: a call that comes while one runs waits for it and shares its result
 * (success or failure) instead of starting another. The next call after it settles starts anew.
 */
export class SingleFlight<T> {
  private pending: Promise<T> | undefined;

  run(compute: () => Promise<T>): Promise<T> {
    if (!this.pending) {
      const started = compute().finally(() => {
        if (this.pending === started) this.pending = undefined;
      });
      this.pending = started;
    }
    return this.pending;
  }

  /** Forgets the computation in flight (its callers still get its result). */
  async close(): Promise<void> {
    this.pending = undefined;
  }
}
