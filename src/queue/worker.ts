import type { Logger } from 'pino';
import type { Job, QueueName, TaskQueue, WorkOptions } from './task-queue.js';

export type QueueWorkerOptions = WorkOptions;

/** Handles a batch of jobs, completing or failing each one itself. */
export type JobHandler = (jobs: Job[]) => Promise<void>;

/**
 * Runs a handler on the jobs of one queue through pg-boss' workers. Idle ones wait on pg-boss'
 * LISTEN for a job to be sent (a millisecond or two from commit to handler), or `pollMs` at most.
 */
export class QueueWorker {
  private workId: string | undefined;

  constructor(
    private readonly queue: TaskQueue,
    private readonly name: QueueName | `${QueueName}_dead`,
    private readonly handle: JobHandler,
    private readonly log: Logger,
    private readonly options: QueueWorkerOptions,
  ) {}

  async start(): Promise<void> {
    this.workId = await this.queue.work(this.name, this.options, async (jobs) => {
      try {
        await this.handle(jobs);
      } catch (error) {
        this.log.error({ err: error, queue: this.name, jobs: jobs.length }, 'job handler failed');
        // pg-boss fails the batch: each job is retried with backoff, then dead-lettered.
        throw error;
      }
    });
  }

  /** Running batches finish; queued jobs stay queued. */
  async stop(): Promise<void> {
    if (this.workId) await this.queue.offWork(this.name, this.workId);
  }
}
