import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Enqueue } from '../db/tasks.js';

export type QueueName = 'inference' | 'training';

/** LISTEN/NOTIFY channel: a job was queued on the named queue (so idle workers fetch at once). */
export const JOB_WAKEUPS = 'jobs';

export interface TaskJob {
  task_id: string;
}
export type Job = PgBoss.JobWithMetadata<TaskJob>;

/** Retry and expiry per queue. A job whose worker dies is retried once `expireInSeconds` pass. */
const QUEUE_POLICIES: Record<QueueName, PgBoss.Queue & { name: QueueName }> = {
  inference: { name: 'inference', retryLimit: 3, retryDelay: 1, retryBackoff: true, expireInSeconds: 10, deadLetter: 'inference_dead' },
  training: { name: 'training', retryLimit: 2, retryDelay: 5, retryBackoff: true, expireInSeconds: 300, deadLetter: 'training_dead' },
};

export interface TaskQueueOptions {
  /** How often expired jobs are found and retried (pg-boss maintenance), in seconds. */
  maintenanceIntervalSeconds: number;
  /**
   * False for a second queue handle in a process whose first one already creates the queues and
   * runs maintenance (in-process workers on connections of their own). Default true.
   */
  supervise?: boolean;
}

/**
 * The durable job queue: pg-boss 10 on the service's own database (PGlite or Postgres), in its own
 * schema. Jobs are sent inside the caller's transaction, followed by a NOTIFY that wakes idle
 * workers at once instead of after pg-boss' polling interval.
 */
export class TaskQueue {
  readonly boss: PgBoss;

  private readonly supervise: boolean;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    options: TaskQueueOptions,
  ) {
    this.supervise = options.supervise ?? true;
    this.boss = new PgBoss({
      db: database.executor,
      schema: database.schema === 'public' ? 'pgboss' : `${database.schema}_pgboss`,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds,
      monitorStateIntervalSeconds: 60,
      ...(this.supervise ? {} : { supervise: false, schedule: false, migrate: false }),
    });
    this.boss.on('error', (error) => this.log.warn({ err: error }, 'job queue error'));
  }

  async start(): Promise<void> {
    await this.boss.start();
    if (!this.supervise) return;
    for (const policy of Object.values(QUEUE_POLICIES)) {
      const { deadLetter } = policy;
      if (deadLetter && !(await this.boss.getQueue(deadLetter))) await this.boss.createQueue(deadLetter);
      if (!(await this.boss.getQueue(policy.name))) await this.boss.createQueue(policy.name, policy);
      else await this.boss.updateQueue(policy.name, policy);
    }
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, close: false, wait: true });
  }

  /** The `enqueue` step of a task's creating transaction. */
  enqueue(name: QueueName): Enqueue {
    return async (executor, taskId) => {
      await this.boss.send(name, { task_id: taskId } satisfies TaskJob, { db: executor });
      await executor.executeSql('select pg_notify($1, $2)', [this.database.notifications.channel(JOB_WAKEUPS), name]);
    };
  }

  fetch(name: QueueName | `${QueueName}_dead`, batchSize: number): Promise<Job[]> {
    return this.boss.fetch<TaskJob>(name, { batchSize, includeMetadata: true });
  }

  async complete(name: string, jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.boss.complete(name, jobIds);
  }

  /** Fails a job: pg-boss retries it with backoff until its retry limit, then dead-letters it. */
  async fail(name: string, jobId: string, error: string): Promise<void> {
    await this.boss.fail(name, jobId, { message: error });
  }
}
