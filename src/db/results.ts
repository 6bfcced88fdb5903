import { sql } from 'kysely';
import type { Database } from './database.js';
import { requestDefaults } from '../generated/constants.js';
import type { SelectionRow, TaskResultRow, UserDataRow } from './schema.js';

/** Result ids are the task's number × 1000 + the rank (ranks go up to 100). */
const RESULT_ID_FACTOR = 1000;

export function resultId(taskSeq: string, rank: number): number {
  return Number(taskSeq) * RESULT_ID_FACTOR + rank;
}

export interface StoredResult {
  resultId: number;
  taskId: string;
  locationId: number;
  score: number;
  rank: number;
  shown: boolean;
  selected: boolean;
  exploration: boolean;
}

/** Online hit rate counts picks within the results a user sees by default. */
export const ONLINE_HIT_K = requestDefaults.getInferenceResults.query.limit;

/** What one answer adds to its version's online sums. */
function contribution(selection: { location_id: number; rank: number | null } | undefined) {
  if (!selection) return { feedback: 0, selections: 0, hits: 0, reciprocal_rank_sum: 0, reciprocal_rank_sq_sum: 0 };
  const { location_id: locationId, rank } = selection;
  return {
    feedback: 1,
    selections: locationId === -1 ? 0 : 1,
    hits: rank !== null && rank <= ONLINE_HIT_K ? 1 : 0,
    reciprocal_rank_sum: rank === null ? 0 : 1 / rank,
    reciprocal_rank_sq_sum: rank === null ? 0 : 1 / (rank * rank),
  };
}

/** One labelled task for training: the search, what was shown, and the pick (-1 for none). */
export interface LabelledTask {
  user: UserDataRow;
  shownLocationIds: number[];
  pickedLocationId: number;
}

/** Results the training set uses for a pick made without fetching results first. */
const DEFAULT_SHOWN = 10;

export class ResultRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  async get(taskId: string): Promise<TaskResultRow | undefined> {
    return this.db.selectFrom('task_results').selectAll().where('task_id', '=', taskId).executeTakeFirst();
  }

  /** Results are returned best first, so the shown ones are always a prefix of the ranking. */
  async markShown(taskId: string, count: number): Promise<void> {
    await this.db
      .updateTable('task_results')
      .set({ shown_count: sql<number>`greatest(shown_count, ${count})` })
      .where('task_id', '=', taskId)
      .where('shown_count', '<', count)
      .execute();
  }

  /**
   * Stores the pick for a task, replacing an earlier one, and moves the online sums of the version
   * that ranked the task by the difference, in one transaction (the task row is locked first, so
   * two answers to one task cannot both count as its first).
   */
  async select(owner: string, taskId: string, locationId: number, rank: number | null): Promise<SelectionRow> {
    return this.db.transaction().execute(async (trx) => {
      const task = await trx.selectFrom('tasks').select('model_id').where('task_id', '=', taskId).forUpdate().executeTakeFirst();
      const previous = await trx.selectFrom('selections').select(['location_id', 'rank']).where('task_id', '=', taskId).executeTakeFirst();
      const row = await trx
        .insertInto('selections')
        .values({ task_id: taskId, owner, location_id: locationId, rank })
        .onConflict((oc) => oc.column('task_id').doUpdateSet({ location_id: locationId, rank, selected_at: sql<Date>`now()` }))
        .returningAll()
        .executeTakeFirstOrThrow();
      if (task?.model_id) {
        const now = contribution(row);
        const before = contribution(previous);
        const delta = {
          feedback: now.feedback - before.feedback,
          selections: now.selections - before.selections,
          hits: now.hits - before.hits,
          reciprocal_rank_sum: now.reciprocal_rank_sum - before.reciprocal_rank_sum,
          reciprocal_rank_sq_sum: now.reciprocal_rank_sq_sum - before.reciprocal_rank_sq_sum,
        };
        await trx
          .insertInto('model_online')
          .values({ model_id: task.model_id, ...delta })
          .onConflict((oc) =>
            oc.column('model_id').doUpdateSet((eb) => ({
              feedback: eb('model_online.feedback', '+', delta.feedback),
              selections: eb('model_online.selections', '+', delta.selections),
              hits: eb('model_online.hits', '+', delta.hits),
              reciprocal_rank_sum: eb('model_online.reciprocal_rank_sum', '+', delta.reciprocal_rank_sum),
              reciprocal_rank_sq_sum: eb('model_online.reciprocal_rank_sq_sum', '+', delta.reciprocal_rank_sq_sum),
            })),
          )
          .execute();
      }
      return row;
    });
  }


  async getSelection(taskId: string): Promise<SelectionRow | undefined> {
    return this.db.selectFrom('selections').selectAll().where('task_id', '=', taskId).executeTakeFirst();
  }

  async countSelections(): Promise<number> {
    const row = await this.db.selectFrom('selections').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Every stored result of a task, by rank. */
  async forTask(taskId: string): Promise<StoredResult[]> {
    const row = await this.db
      .selectFrom('task_results')
      .innerJoin('tasks', 'tasks.task_id', 'task_results.task_id')
      .leftJoin('selections', 'selections.task_id', 'task_results.task_id')
      .select([
        'task_results.task_id',
        'task_results.location_ids',
        'task_results.scores',
        'task_results.exploration_ranks',
        'task_results.shown_count',
        'tasks.seq',
        'selections.location_id as selected',
      ])
      .where('task_results.task_id', '=', taskId)
      .executeTakeFirst();
    if (!row) return [];
    return row.location_ids.map((locationId, index) => ({
      resultId: resultId(row.seq, index + 1),
      taskId: row.task_id,
      locationId,
      score: row.scores[index] ?? 0,
      rank: index + 1,
      shown: index < row.shown_count,
      selected: row.selected === locationId,
      exploration: row.exploration_ranks.includes(index + 1),
    }));
  }

  async byResultId(id: number): Promise<StoredResult | undefined> {
    const rank = id % RESULT_ID_FACTOR;
    const seq = String((id - rank) / RESULT_ID_FACTOR);
    if (rank < 1) return undefined;
    const task = await this.db.selectFrom('tasks').select('task_id').where('seq', '=', seq).executeTakeFirst();
    if (!task) return undefined;
    return (await this.forTask(task.task_id)).find((result) => result.rank === rank);
  }

  /** The labelled tasks: every selection with its search and what was shown, oldest first. */
  async labelledTasks(): Promise<LabelledTask[]> {
    const rows = await this.db
      .selectFrom('selections')
      .innerJoin('task_results', 'task_results.task_id', 'selections.task_id')
      .innerJoin('tasks', 'tasks.task_id', 'selections.task_id')
      .innerJoin('user_data', 'user_data.user_id', 'tasks.user_id')
      .selectAll('user_data')
      .select(['selections.location_id as picked', 'selections.rank as picked_rank', 'task_results.location_ids', 'task_results.shown_count'])
      .orderBy('tasks.seq')
      .execute();
    return rows.map(({ picked, picked_rank, location_ids, shown_count, ...user }) => ({
      user,
      shownLocationIds: location_ids.slice(0, Math.max(shown_count > 0 ? shown_count : DEFAULT_SHOWN, picked_rank ?? 0)),
      pickedLocationId: picked,
    }));
  }
}
