import { sql } from 'kysely';
import { PgBoss, type JobWithMetadata, type Queue, type WorkOptions as BossWorkOptions } from 'pg-boss';
import type { Logger } from 'pino';
import { type Database, transactionExecutor } from '../db/database.js';
import type { Enqueue } from '../db/tasks.js';

export type QueueName = 'inference' | 'training';
type AnyQueueName = QueueName | `${QueueName}_dead`;

export interface TaskJob {
  task_id: string;
}
export type Job = JobWithMetadata<TaskJob>;

/**
 * Retry, liveness and expiry per queue. A worker touches its jobs every `heartbeatSeconds / 2`; a
 * job whose worker dies misses its heartbeat and is retried `heartbeatSeconds` later, however long
 * its batch may legitimately run. `expireInSeconds` only caps a handler that never returns (a batch
 * that outran a fixed expiry used to be run twice). `notify`: sending a job NOTIFYs in the same
 * statement, and idle workers fetch at once.
 */
const QUEUE_POLICIES: Record<QueueName, Queue & { name: QueueName }> = {
  inference: { name: 'inference', retryLimit: 3, retryDelay: 1, retryBackoff: true, heartbeatSeconds: 10, expireInSeconds: 300, deadLetter: 'inference_dead', notify: true },
  training: { name: 'training', retryLimit: 2, retryDelay: 5, retryBackoff: true, heartbeatSeconds: 15, expireInSeconds: 3600, deadLetter: 'training_dead', notify: true },
};

/** The schema version pg-boss 10 left; pg-boss 12 migrates only from 11's (25) onwards. */
const PGBOSS_10_SCHEMA_VERSION = 24;

export interface TaskQueueOptions {
  /** How often expired jobs are found and retried (pg-boss maintenance), in seconds. */
  maintenanceIntervalSeconds: number;
  /**
   * False for a second queue handle in a process whose first one already creates the queues and
   * runs maintenance (in-process workers on connections of their own). Default true.
   */
  supervise?: boolean;
}

export interface WorkOptions {
  /** Jobs fetched (and handled together) per round. */
  batchSize: number;
  /** Rounds in flight at once in this process. */
  loops: number;
  /** Fetch this often even without a NOTIFY (retries come due without one), in ms; at least 500. */
  pollMs: number;
}

/**
 * The durable job queue: pg-boss 12 on the service's own database (PGlite or Postgres), in its own
 * schema. Jobs are sent inside the caller's transaction; pg-boss NOTIFYs in the same statement and
 * its workers, listening on the process's one LISTEN connection, fetch at once.
 */
export class TaskQueue {
  readonly boss: PgBoss;

  private readonly supervise: boolean;
  private readonly bossSchema: string;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    options: TaskQueueOptions,
  ) {
    this.supervise = options.supervise ?? true;
    this.bossSchema = database.schema === 'public' ? 'pgboss' : `${database.schema}_pgboss`;
    this.boss = new PgBoss({
      db: database.executor,
      schema: this.bossSchema,
      useListenNotify: true,
      // pg-boss 12 retries the jobs of dead workers (missed heartbeats) in its monitor pass (every
      // supervise tick, once the monitor interval has passed) and deletes old ones in maintenance:
      // all three at our pace.
      superviseIntervalSeconds: options.maintenanceIntervalSeconds,
      monitorIntervalSeconds: options.maintenanceIntervalSeconds,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds,
      // No OpenTelemetry SDK is registered: skip the per-call span wrappers and trace columns.
      openTelemetry: { enabled: false },
      ...(this.supervise ? {} : { supervise: false, schedule: false, migrate: false }),
    });
    this.boss.on('error', (error) => this.log.warn({ err: error }, 'job queue error'));
    this.boss.on('warning', (warning) => this.log.warn({ warning }, 'job queue warning'));
  }

  async start(): Promise<void> {
    if (this.supervise) await this.setAsideVersion10Schema();
    await this.boss.start();
    if (!this.supervise) return;
    for (const { name, ...policy } of Object.values(QUEUE_POLICIES)) {
      const { deadLetter } = policy;
      if (deadLetter && !(await this.boss.getQueue(deadLetter))) await this.boss.createQueue(deadLetter);
      if (!(await this.boss.getQueue(name))) await this.boss.createQueue(name, policy);
      else await this.boss.updateQueue(name, policy);
    }
    await this.moveVersion10Jobs();
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, close: false });
  }

  /** The `enqueue` step of a task's creating transaction. */
  enqueue(name: QueueName): Enqueue {
    return async (executor, taskId) => {
      await this.boss.send(name, { task_id: taskId } satisfies TaskJob, { db: executor });
    };
  }

  fetch(name: AnyQueueName, batchSize: number): Promise<Job[]> {
    return this.boss.fetch<TaskJob>(name, { batchSize, includeMetadata: true });
  }

  /**
   * Hands batches of `name`'s jobs to `handle`, which settles each job itself (complete or fail);
   * pg-boss completes the ones still active once it resolves, and fails the batch if it throws.
   * Returns the id `offWork` takes.
   */
  work(name: AnyQueueName, options: WorkOptions, handle: (jobs: Job[]) => Promise<void>): Promise<string> {
    const seconds = options.pollMs / 1000;
    const work = {
      batchSize: options.batchSize,
      localConcurrency: options.loops,
      includeMetadata: true,
      pollingIntervalSeconds: seconds,
      notifyPollingIntervalSeconds: seconds,
    } as const satisfies BossWorkOptions;
    return this.boss.work<TaskJob, void, typeof work>(name, work, handle);
  }

  /** Stops the workers `work` started: running batches finish, queued jobs stay queued. */
  offWork(name: AnyQueueName, id: string): Promise<void> {
    return this.boss.offWork(name, { id, wait: true });
  }

  async complete(name: string, jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.boss.complete(name, jobIds);
  }

  /** Fails a job: pg-boss retries it with backoff until its retry limit, then dead-letters it. */
  async fail(name: string, jobId: string, error: string): Promise<void> {
    await this.boss.fail(name, jobId, { message: error });
  }

  private get version10Schema(): string {
    return `${this.bossSchema}_v10`;
  }

  /** Serialises the upgrade steps of processes starting together (a transaction-scoped advisory lock). */
  private lockUpgrade() {
    return sql`select pg_advisory_xact_lock(hashtext(${`portico.pgboss-upgrade.${this.bossSchema}`}))`;
  }

  /**
   * pg-boss 12 cannot migrate pg-boss 10's schema (version 24; its migrations start at 11's). A
   * version-24 schema is renamed aside so pg-boss installs its own afresh, and its unfinished jobs
   * are moved over once the queues exist (`moveVersion10Jobs`).
   */
  private async setAsideVersion10Schema(): Promise<void> {
    const { bossSchema, version10Schema } = this;
    await this.database.db.transaction().execute(async (trx) => {
      await this.lockUpgrade().execute(trx);
      const { rows } = await sql<{ present: boolean }>`select to_regclass(${`${bossSchema}.version`}) is not null as present`.execute(trx);
      if (!rows[0]?.present) return;
      const installed = await sql<{ version: number }>`select version from ${sql.id(bossSchema, 'version')}`.execute(trx);
      if (installed.rows[0]?.version !== PGBOSS_10_SCHEMA_VERSION) return;
      await sql`alter schema ${sql.id(bossSchema)} rename to ${sql.id(version10Schema)}`.execute(trx);
      this.log.info({ from: bossSchema, to: version10Schema }, 'pg-boss 10 schema set aside for the upgrade');
    });
  }

  /**
   * Moves the jobs pg-boss 10 had not finished (created, retry or active) into pg-boss 12's queues,
   * as new jobs with their ids, data and start times, then drops the old schema, in one transaction.
   * Their retry counts start again; the tasks table keeps each task's own attempts. Finished jobs
   * were pg-boss' history only: task state lives in the service's own tables.
   */
  private async moveVersion10Jobs(): Promise<void> {
    const { version10Schema } = this;
    await this.database.db.transaction().execute(async (trx) => {
      await this.lockUpgrade().execute(trx);
      const { rows } = await sql<{ present: boolean }>`select to_regnamespace(${version10Schema}) is not null as present`.execute(trx);
      if (!rows[0]?.present) return;
      const jobs = await sql<{ id: string; name: string; data: TaskJob; priority: number; start_after: Date }>`
        select id, name, data, priority, start_after from ${sql.id(version10Schema, 'job')}
        where state::text in ('created', 'retry', 'active') order by created_on`.execute(trx);
      const byQueue = new Map<string, typeof jobs.rows>();
      for (const job of jobs.rows) byQueue.set(job.name, [...(byQueue.get(job.name) ?? []), job]);
      for (const [name, queued] of byQueue) {
        const inserts = queued.map((job) => ({ id: job.id, data: job.data, priority: job.priority, startAfter: job.start_after }));
        await this.boss.insert(name, inserts, { db: transactionExecutor(trx) });
      }
      await sql`drop schema ${sql.id(version10Schema)} cascade`.execute(trx);
      this.log.info({ jobs: Object.fromEntries([...byQueue].map(([name, queued]) => [name, queued.length])) }, 'pg-boss 10 jobs moved to pg-boss 12');
    });
  }
}
