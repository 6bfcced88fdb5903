import type { Logger } from 'pino';
import type { Notifications } from '../db/notifications.js';
import { type Job, JOB_WAKEUPS, type QueueName, type TaskQueue } from './task-queue.js';
import { Wakeup } from './wakeup.js';

export interface QueueWorkerOptions {
  /** Jobs fetched (and handled together) per round. */
  batchSize: number;
  /** Rounds in flight at once in this process. */
  loops: number;
  /** Fetch this often even without a wake-up (retries come due without a NOTIFY). */
  pollMs: number;
}

/** Handles a batch of jobs, completing or failing each one itself. */
export type JobHandler = (jobs: Job[]) => Promise<void>;

/**
 * Fetches jobs of one queue and hands them to a handler. Idle loops sleep until a NOTIFY says a job
 * was queued (tens of milliseconds from send to start), or until `pollMs` passes.
 */
export class QueueWorker {
  private readonly wakeup = new Wakeup();
  private running: Promise<void>[] = [];
  private stopped = false;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly queue: TaskQueue,
    private readonly name: QueueName | `${QueueName}_dead`,
    private readonly handle: JobHandler,
    private readonly notifications: Notifications,
    private readonly log: Logger,
    private readonly options: QueueWorkerOptions,
  ) {}

  async start(): Promise<void> {
    const base = this.name.replace(/_dead$/, '');
    this.unlisten = await this.notifications.listen(JOB_WAKEUPS, (queue) => {
      if (queue === base) this.wakeup.wake();
    });
    this.running = Array.from({ length: this.options.loops }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (let i = 0; i < this.options.loops; i++) this.wakeup.wake();
    await Promise.all(this.running);
    await this.unlisten?.();
  }

  private async loop(): Promise<void> {
    let backoffMs = 100;
    while (!this.stopped) {
      let jobs: Job[];
      try {
        jobs = await this.queue.fetch(this.name, this.options.batchSize);
        backoffMs = 100;
      } catch (error) {
        this.log.warn({ err: error, queue: this.name }, 'could not fetch jobs; retrying');
        await this.wakeup.wait(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
        continue;
      }
      if (jobs.length === 0) {
        await this.wakeup.wait(this.options.pollMs);
        continue;
      }
      try {
        await this.handle(jobs);
      } catch (error) {
        // Jobs the handler could not settle expire and are retried by pg-boss.
        this.log.error({ err: error, queue: this.name, jobs: jobs.length }, 'job handler failed');
      }
    }
  }
}
