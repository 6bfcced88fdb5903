import { isDatabaseUnavailable } from './errors.js';

interface Pending<In, Out> {
  input: In;
  resolve: (output: Out) => void;
  reject: (error: unknown) => void;
}

export interface CoalescerOptions {
  /** Items per database call at most. */
  maxBatch: number;
  /** Database calls in flight at once; items arriving meanwhile wait and form the next batch. */
  maxInFlight: number;
}

/**
 * Turns many concurrent single-item calls into few multi-item database calls: everything submitted
 * in the same turn of the event loop, or while earlier calls are in flight, goes into one call (up
 * to `maxBatch`), and each caller gets its own result once that call has finished. On the hot paths
 * this replaces a round trip and a commit per request with one per batch ("group commit").
 *
 * A batch that fails for a reason other than an unreachable database is retried item by item, so
 * that one bad item cannot fail the others.
 */
export class Coalescer<In, Out> {
  private queue: Pending<In, Out>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly options: CoalescerOptions,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.execute(batch).finally(() => {
        this.inFlight -= 1;
        if (this.queue.length > 0) this.schedule();
      });
    }
  }

  private async execute(batch: Pending<In, Out>[]): Promise<void> {
    try {
      const outputs = await this.run(batch.map((pending) => pending.input));
      batch.forEach((pending, index) => pending.resolve(outputs[index]!));
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      await Promise.all(batch.map((pending) => this.execute([pending])));
    }
  }
}
