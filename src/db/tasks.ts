import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { type Database, type SqlExecutor, transactionExecutor } from './database.js';
import type { JsonObject, NewTask, NewUserData, Tables, TaskRow, TaskState, TaskType, UserDataRow } from './schema.js';

/** LISTEN/NOTIFY channel carrying the ids of tasks with new events (comma-separated). */
export const TASK_EVENTS = 'task_events';
/** LISTEN/NOTIFY channel carrying the id of a task to stop (a cancel reaching a running worker). */
export const TASK_CANCELS = 'task_cancels';

export const TERMINAL_STATES: readonly TaskState[] = ['SUCCESS', 'FAILURE', 'REVOKED'];
const RUNNABLE_STATES: readonly TaskState[] = ['PENDING', 'RETRY', 'STARTED'];

export interface TaskListQuery {
  owner: string | undefined;
  type: TaskType;
  status?: TaskState | undefined;
  beforeSeq?: string | undefined;
  limit: number;
}

/** A claimed inference task with its search. */
export type ClaimedInference = TaskRow & { user: UserDataRow };

/** The model a task is ranked with. */
export interface ModelPin {
  id: string;
  version: number;
}

/** A challenger and which tasks, by number, it ranks. */
export interface ChallengerPin {
  model: ModelPin;
  takes: (seq: string) => boolean;
}

export interface InferenceOutcome {
  taskId: string;
  locationIds: number[];
  scores: number[];
  /** Ranks of the exploration slots among them. */
  explorationRanks: number[];
}

/** A row of a task's history, as a transition records it. */
interface NewTaskEvent {
  task_id: string;
  status: TaskState;
  progress: number;
  data?: JsonObject;
}

/** Enqueues the task's job inside the task's own transaction (pg-boss send with this executor). */
export type Enqueue = (executor: SqlExecutor, taskId: string) => Promise<void>;

export class TaskRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  /**
   * The second half of every status change, in the transaction that made it: each task's event in
   * its durable history, and a NOTIFY naming the tasks (delivered after commit; payloads stay under
   * Postgres' 8000-byte limit).
   */
  private async recordEvents(trx: Transaction<Tables>, events: readonly NewTaskEvent[]): Promise<void> {
    if (events.length === 0) return;
    await trx.insertInto('task_events').values(events.map((event) => ({ ...event, data: event.data === undefined ? undefined : JSON.stringify(event.data) }))).execute();
    const channel = this.database.notifications.channel(TASK_EVENTS);
    for (let start = 0; start < events.length; start += 200) {
      await sql`select pg_notify(${channel}, ${events.slice(start, start + 200).map((event) => event.task_id).join(',')})`.execute(trx);
    }
  }

  /** Tasks that have not ended yet: the only ones a transition may move. */
  private runnable(trx: Transaction<Tables>) {
    return trx.updateTable('tasks').where('status', 'in', [...RUNNABLE_STATES]);
  }

  /**
   * Stores the search, the PENDING task, its first event and its queued job in one transaction:
   * there is never a task without its job or a job without its task.
   */
  async createInference(owner: string, user: Omit<NewUserData, 'owner'>, enqueue: Enqueue): Promise<TaskRow> {
    return this.db.transaction().execute((trx) => this.insertPending(trx, { type: 'inference', owner, params: null }, enqueue, { ...user, owner }));
  }

  /**
   * A training task as `createTraining` makes it, unless one is queued or running, or one failed
   * after `failedAfter` (a run that failed would fail again on the same data): for runs the
   * service starts by itself, one at a time however many processes ask at once. Undefined when
   * none was started.
   */
  async createTrainingIfIdle(owner: string, params: JsonObject, enqueue: Enqueue, failedAfter: Date): Promise<TaskRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ':portico.training-trigger'))`.execute(trx);
      const blocking = await trx
        .selectFrom('tasks')
        .select('task_id')
        .where('type', '=', 'training')
        .where((eb) => eb.or([eb('status', 'in', [...RUNNABLE_STATES]), eb.and([eb('status', '=', 'FAILURE'), eb('created_at', '>', failedAfter)])]))
        .limit(1)
        .executeTakeFirst();
      if (blocking) return undefined;
      return this.insertPending(trx, { type: 'training', owner, params: JSON.stringify(params) }, enqueue);
    });
  }

  /** A training task with its hyper-parameters, and its job, in one transaction. */
  async createTraining(owner: string, params: JsonObject, enqueue: Enqueue): Promise<TaskRow> {
    return this.db.transaction().execute((trx) => this.insertPending(trx, { type: 'training', owner, params: JSON.stringify(params) }, enqueue));
  }

  /**
   * The PENDING task (with its search, if any), its first event and its notification as one
   * statement, then its queued job, inside the caller's transaction. Task creation is the hot path
   * of POST /inference/start: every round trip holds a pooled connection, and workers in the same
   * process wait for those connections too.
   */
  private async insertPending(
    trx: Transaction<Tables>,
    task: Pick<NewTask, 'type' | 'owner' | 'params'>,
    enqueue: Enqueue,
    user?: NewUserData,
  ): Promise<TaskRow> {
    const channel = this.database.notifications.channel(TASK_EVENTS);
    const { notified: _notified, ...row } = await trx
      // A training task has no search: then the CTE inserts nothing.
      .with('new_user', (db) => (user ? db.insertInto('user_data').values(user).returning('user_id') : db.selectFrom('user_data').select('user_id').where(sql.lit(false))))
      .with('new_task', (db) =>
        db
          .insertInto('tasks')
          .values((eb) => ({
            ...task,
            task_id: randomUUID(),
            status: 'PENDING',
            user_id: user ? eb.selectFrom('new_user').select('new_user.user_id') : null,
            model_id: null,
            model_version: null,
            error: null,
            started_at: null,
            finished_at: null,
          }))
          .returningAll(),
      )
      .with('first_event', (db) =>
        db
          .insertInto('task_events')
          .columns(['task_id', 'status', 'progress'])
          .expression((eb) => eb.selectFrom('new_task').select(['new_task.task_id', 'new_task.status', 'new_task.progress'])),
      )
      .selectFrom('new_task')
      .selectAll('new_task')
      .select(sql<string>`pg_notify(${channel}, new_task.task_id::text)`.as('notified'))
      .executeTakeFirstOrThrow();
    await enqueue(transactionExecutor(trx), row.task_id);
    return row;
  }

  /** The task, if `owner` may see it (undefined owner: admins see all). */
  async get(owner: string | undefined, taskId: string, type: TaskType): Promise<TaskRow | undefined> {
    let query = this.db.selectFrom('tasks').selectAll().where('task_id', '=', taskId).where('type', '=', type);
    if (owner !== undefined) query = query.where('owner', '=', owner);
    return query.executeTakeFirst();
  }

  /** The stored search of an inference task `owner` may see (undefined owner: admins see all). */
  async searchOf(owner: string | undefined, taskId: string): Promise<UserDataRow | undefined> {
    let query = this.db
      .selectFrom('tasks')
      .innerJoin('user_data', 'user_data.user_id', 'tasks.user_id')
      .selectAll('user_data')
      .where('tasks.task_id', '=', taskId)
      .where('tasks.type', '=', 'inference');
    if (owner !== undefined) query = query.where('tasks.owner', '=', owner);
    return query.executeTakeFirst();
  }

  async list(query: TaskListQuery): Promise<TaskRow[]> {
    let select = this.db.selectFrom('tasks').selectAll().where('type', '=', query.type).orderBy('seq', 'desc').limit(query.limit);
    if (query.owner !== undefined) select = select.where('owner', '=', query.owner);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
    return select.execute();
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('tasks').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /**
   * Marks runnable tasks STARTED (a task a crashed worker left STARTED runs again) and returns
   * them; revoked or finished ones are skipped. A task keeps the model it was first given, so a
   * retried task finishes with the model it started with.
   */
  async claimInference(taskIds: readonly string[], model: ModelPin, challenger?: ChallengerPin): Promise<ClaimedInference[]> {
    if (taskIds.length === 0) return [];
    const claimed = await this.db.transaction().execute(async (trx) => {
      if (challenger) {
        // The challenger's tasks, by their numbers, are pinned to it first; a task run again keeps its model.
        const unpinned = await trx
          .selectFrom('tasks')
          .select(['task_id', 'seq'])
          .where('task_id', 'in', [...taskIds])
          .where('model_id', 'is', null)
          .where('status', 'in', [...RUNNABLE_STATES])
          .forUpdate()
          .execute();
        const theirs = unpinned.filter((row) => challenger.takes(row.seq)).map((row) => row.task_id);
        if (theirs.length > 0) {
          await trx.updateTable('tasks').set({ model_id: challenger.model.id, model_version: challenger.model.version }).where('task_id', 'in', theirs).execute();
        }
      }
      const rows = await this.runnable(trx)
        .set((eb) => ({
          status: 'STARTED',
          started_at: sql<Date>`now()`,
          attempts: eb('attempts', '+', 1),
          model_id: eb.fn.coalesce('model_id', eb.val(model.id)),
          model_version: eb.fn.coalesce('model_version', eb.val(model.version)),
        }))
        .where('task_id', 'in', [...taskIds])
        .where('type', '=', 'inference')
        .returningAll()
        .execute();
      await this.recordEvents(trx, rows.map((row) => ({ task_id: row.task_id, status: 'STARTED', progress: 0, data: { attempt: row.attempts } })));
      return rows;
    });
    if (claimed.length === 0) return [];
    const users = await this.db.selectFrom('user_data').selectAll().where('user_id', 'in', claimed.map((row) => row.user_id ?? 0)).execute();
    const byId = new Map(users.map((user) => [user.user_id, user]));
    return claimed.flatMap((row) => {
      const user = row.user_id === null ? undefined : byId.get(row.user_id);
      return user ? [{ ...row, user }] : [];
    });
  }

  /** Claims a training task (STARTED, attempt counted); undefined when it is revoked or finished. */
  async claimTraining(taskId: string): Promise<TaskRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.runnable(trx)
        .set((eb) => ({ status: 'STARTED', started_at: sql<Date>`now()`, attempts: eb('attempts', '+', 1), progress: 0 }))
        .where('task_id', '=', taskId)
        .where('type', '=', 'training')
        .returningAll()
        .executeTakeFirst();
      if (row) await this.recordEvents(trx, [{ task_id: row.task_id, status: 'STARTED', progress: 0, data: { attempt: row.attempts } }]);
      return row;
    });
  }

  /**
   * Stores the rankings and marks the tasks SUCCESS, in one transaction. Only tasks still STARTED
   * change: a task revoked meanwhile keeps REVOKED and its results are dropped. Results are written
   * at most once per task. Returns the ids that succeeded.
   */
  async completeInference(outcomes: readonly InferenceOutcome[]): Promise<string[]> {
    if (outcomes.length === 0) return [];
    const payload = JSON.stringify(
      outcomes.map((outcome) => ({ task_id: outcome.taskId, location_ids: outcome.locationIds, scores: outcome.scores, exploration_ranks: outcome.explorationRanks })),
    );
    return this.db.transaction().execute(async (trx) => {
      // Each version's online task count grows in the same statement that completes its tasks.
      const done = await sql<{ task_id: string }>`
        with input as (
          select * from jsonb_to_recordset(${payload}::jsonb) as t(task_id uuid, location_ids integer[], scores double precision[], exploration_ranks integer[])
        ), done as (
          update tasks set status = 'SUCCESS', progress = 1, finished_at = now(), error = null
          from input where tasks.task_id = input.task_id and tasks.status = 'STARTED'
          returning tasks.task_id, tasks.model_id
        ), stored as (
          insert into task_results (task_id, location_ids, scores, exploration_ranks)
          select input.task_id, input.location_ids, input.scores, input.exploration_ranks from input join done using (task_id)
          on conflict (task_id) do nothing
        ), counted as (
          insert into model_online (model_id, tasks)
          select model_id, count(*) from done where model_id is not null group by model_id
          on conflict (model_id) do update set tasks = model_online.tasks + excluded.tasks
        )
        select task_id from done`.execute(trx);
      await this.recordEvents(trx, done.rows.map((row) => ({ task_id: row.task_id, status: 'SUCCESS', progress: 1 })));
      return done.rows.map((row) => row.task_id);
    });
  }

  /** Records progress of a running task (training epochs) as an event. */
  async progress(taskId: string, progress: number, data: JsonObject): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.updateTable('tasks').set({ progress }).where('task_id', '=', taskId).where('status', '=', 'STARTED').returning('task_id').executeTakeFirst();
      if (row) await this.recordEvents(trx, [{ task_id: taskId, status: 'STARTED', progress, data }]);
      return row !== undefined;
    });
  }

  /** Marks a training task SUCCESS with the model it produced. */
  async completeTraining(taskId: string, model: { id: string; version: number }, data: JsonObject): Promise<boolean> {
    return this.finish(taskId, 'SUCCESS', { model_id: model.id, model_version: model.version, progress: 1, error: null }, data);
  }

  /** RETRY (will run again) or FAILURE (final), with the error to show. */
  async fail(taskId: string, status: 'RETRY' | 'FAILURE', error: string): Promise<boolean> {
    return this.finish(taskId, status, { error }, { error });
  }

  /** Cancels a task that has not ended; returns the task as it is now, or undefined if unknown. */
  async revoke(owner: string | undefined, taskId: string, type: TaskType): Promise<TaskRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      let update = this.runnable(trx).set({ status: 'REVOKED', finished_at: sql<Date>`now()` }).where('task_id', '=', taskId).where('type', '=', type);
      if (owner !== undefined) update = update.where('owner', '=', owner);
      const row = await update.returningAll().executeTakeFirst();
      if (!row) {
        let query = trx.selectFrom('tasks').selectAll().where('task_id', '=', taskId).where('type', '=', type);
        if (owner !== undefined) query = query.where('owner', '=', owner);
        return query.executeTakeFirst();
      }
      await this.recordEvents(trx, [{ task_id: taskId, status: 'REVOKED', progress: row.progress }]);
      await sql`select pg_notify(${this.database.notifications.channel(TASK_CANCELS)}, ${taskId})`.execute(trx);
      return row;
    });
  }

  private async finish(
    taskId: string,
    status: TaskState,
    values: { model_id?: string; model_version?: number; progress?: number; error: string | null },
    data: JsonObject,
  ): Promise<boolean> {
    const terminal = TERMINAL_STATES.includes(status);
    return this.db.transaction().execute(async (trx) => {
      const row = await this.runnable(trx)
        .set({ ...values, status, ...(terminal ? { finished_at: sql<Date>`now()` } : {}) })
        .where('task_id', '=', taskId)
        .returning(['task_id', 'progress'])
        .executeTakeFirst();
      if (row) await this.recordEvents(trx, [{ task_id: taskId, status, progress: row.progress, data }]);
      return row !== undefined;
    });
  }
}
