import type { Database } from './database.js';
import type { TaskEventRow, TaskType } from './schema.js';

export type TaskEventWithType = TaskEventRow & { type: TaskType };

/** The durable history of task status changes, read by task event streams. */
export class TaskEventRepository {
  constructor(private readonly database: Database) {}

  /** The task's events after `afterId`, oldest first. */
  async after(taskId: string, afterId: string, limit = 500): Promise<TaskEventWithType[]> {
    return this.database.db
      .selectFrom('task_events')
      .innerJoin('tasks', 'tasks.task_id', 'task_events.task_id')
      .selectAll('task_events')
      .select('tasks.type')
      .where('task_events.task_id', '=', taskId)
      .where('task_events.id', '>', afterId)
      .orderBy('task_events.id')
      .limit(limit)
      .execute();
  }

  /** The id of the task's newest event ('0' before the first): no stream of it sent a later one. */
  async lastId(taskId: string): Promise<string> {
    const row = await this.database.db.selectFrom('task_events').select((eb) => eb.fn.max('id').as('last')).where('task_id', '=', taskId).executeTakeFirst();
    return String(row?.last ?? '0');
  }
}
