/**
 * Lets idle worker loops sleep until work arrives. A wake-up that comes while nobody waits is kept,
 * so a notification racing with a loop that is about to sleep is never lost.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();
  private pending = false;

  /** Resolves on the next wake-up, or after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
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
      const timer = setTimeout(done, timeoutMs);
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
}
