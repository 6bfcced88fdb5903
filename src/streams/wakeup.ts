/**
 * Lets an idle stream sleep until its feed changes. A wake-up that comes while nobody waits is
 * kept, so a notification racing with a stream that is about to sleep is never lost.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();
  private pending = false;

  /** Resolves on the next wake-up, or after `timeoutMs` if given (no timer otherwise). */
  wait(timeoutMs?: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  wake(): void {
    if (this.waiters.size === 0) {
      this.pending = true;
      return;
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * Wakes on the abort of any of `signals` (a stream's request, the server's shutdown). Returns the
   * function that removes the listeners: the shutdown signal outlives every stream, and a listener
   * left on it would keep each ended stream's wake-up alive until the process stops.
   */
  wakeOnAbort(...signals: AbortSignal[]): () => void {
    const wake = () => this.wake();
    for (const signal of signals) signal.addEventListener('abort', wake, { once: true });
    return () => {
      for (const signal of signals) signal.removeEventListener('abort', wake);
    };
  }
}
