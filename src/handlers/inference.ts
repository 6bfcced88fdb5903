import { type Principal, visibleOwner } from '../auth/principal.js';
import type { EventBatcher } from '../db/event-batcher.js';
import type { LocationRepository } from '../db/locations.js';
import type { ResultRepository } from '../db/results.js';
import type { TaskEventRepository } from '../db/task-events.js';
import { TERMINAL_STATES, type TaskRepository } from '../db/tasks.js';
import type { SchemaUserData } from '../generated/api.js';
import { CURSOR_VALUE, decodeTaskPosition, unsentPosition } from '../http/cursor.js';
import { keysetPage } from '../http/pagination.js';
import type { Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';
import { taskNotFound, taskNotReady } from '../domain/tasks.js';
import { toLocation } from '../presenters/locations.js';
import { toTaskStatus } from '../presenters/tasks.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { LearningLoop } from '../recommender/learning-loop.js';
import type { ChangeFeed } from '../streams/follow.js';
import { taskEventStream } from '../streams/task-stream.js';

/** Rules the schema cannot state: one age per person, no more children than people. */
function searchErrors(user: SchemaUserData) {
  return [
    ...(user.people_age.length === user.people_num
      ? []
      : [{ location: 'body' as const, pointer: '/people_age', message: `must have one age per person (${user.people_num})` }]),
    ...(user.children_num <= user.people_num
      ? []
      : [{ location: 'body' as const, pointer: '/children_num', message: 'must not exceed people_num' }]),
  ];
}

export interface InferenceDependencies {
  tasks: TaskRepository;
  taskEvents: TaskEventRepository;
  taskFeed: ChangeFeed;
  results: ResultRepository;
  locations: LocationRepository;
  queue: TaskQueue;
  events: EventBatcher;
  learning: LearningLoop;
}

export function inferenceHandlers({ tasks, taskEvents, taskFeed, results, locations, queue, events, learning }: InferenceDependencies) {
  const enqueue = queue.enqueue('inference');
  const log = (principal: Principal, type: string, data: Record<string, unknown>) => events.recordSystem(principal.owner, type, data);
  const findTask = async (principal: Principal, taskId: string) => {
    const row = await tasks.get(visibleOwner(principal), taskId, 'inference');
    if (!row) throw taskNotFound(taskId);
    return row;
  };

  return {
    startInference: async ({ body }, { principal }): Promise<Reply<'startInference'>> => {
      const errors = searchErrors(body);
      if (errors.length > 0) throw DomainError.validation(errors);
      const row = await tasks.createInference(principal.owner, body, enqueue);
      await log(principal, 'inference_start', { task_id: row.task_id });
      return { status: 200, headers: { Location: `/inference/status/${row.task_id}` }, body: toTaskStatus(row) };
    },

    retryInference: async ({ path }, { principal }): Promise<Reply<'retryInference'>> => {
      const search = await tasks.searchOf(visibleOwner(principal), path.task_id);
      if (!search) throw taskNotFound(path.task_id);
      const { user_id: _id, owner: _owner, created_at: _created, ...fields } = search;
      const row = await tasks.createInference(principal.owner, fields, enqueue);
      await log(principal, 'inference_start', { task_id: row.task_id, retry_of: path.task_id });
      return { status: 200, headers: { Location: `/inference/status/${row.task_id}` }, body: toTaskStatus(row) };
    },

    getInferenceStatus: async ({ path }, { principal }): Promise<Reply<'getInferenceStatus'>> => {
      const row = await findTask(principal, path.task_id);
      await log(principal, 'status', { task_id: row.task_id, status: row.status });
      return { status: 200, body: toTaskStatus(row) };
    },

    getInferenceResults: async ({ path, query }, { principal }): Promise<Reply<'getInferenceResults'>> => {
      const row = await findTask(principal, path.task_id);
      if (row.status !== 'SUCCESS') throw taskNotReady(row.status, `The task is ${row.status}; results exist once it is SUCCESS.`);
      const stored = await results.get(row.task_id);
      if (!stored) throw taskNotReady(row.status, 'The task has no stored results.');
      const ids = stored.location_ids.slice(0, query.limit);
      const rows = await locations.getMany(ids);
      await results.markShown(row.task_id, ids.length);
      await log(principal, 'results', { task_id: row.task_id, limit: query.limit });
      return {
        status: 200,
        body: ids.flatMap((locationId, index) => {
          const location = rows.get(locationId);
          const rank = index + 1;
          return location ? [{ ...toLocation(location), score: stored.scores[index] ?? 0, rank, exploration: stored.exploration_ranks.includes(rank) }] : [];
        }),
      };
    },

    selectInferenceResult: async ({ body }, { principal }): Promise<Reply<'selectInferenceResult'>> => {
      const row = await findTask(principal, body.task_id);
      if (row.status !== 'SUCCESS') throw taskNotReady(row.status, `The task is ${row.status}; only a SUCCESS task's results can be picked.`);
      let rank: number | null = null;
      if (body.location_id !== -1) {
        const stored = await results.get(row.task_id);
        const index = stored?.location_ids.indexOf(body.location_id) ?? -1;
        if (index < 0) throw DomainError.notFound(`Location ${body.location_id} is not among the results of task ${row.task_id}.`);
        rank = index + 1;
      }
      // Only a pick that is taken is recorded: a refused one leaves no event behind.
      await log(principal, 'selection', { task_id: row.task_id, location_id: body.location_id });
      if (rank === null) await log(principal, 'bad_inference', { task_id: row.task_id });
      else await log(principal, 'good_inference', { task_id: row.task_id, location_id: body.location_id, rank });
      const selection = await results.select(row.owner, row.task_id, body.location_id, rank);
      // The answer is committed; what it may decide (the online test, a training run) follows.
      await learning.afterAnswer();
      return {
        status: 200,
        body: { task_id: selection.task_id, location_id: selection.location_id, rank: selection.rank, selected_at: selection.selected_at.toISOString() },
      };
    },

    cancelInference: async ({ path }, { principal }): Promise<Reply<'cancelInference'>> => {
      const row = await tasks.revoke(visibleOwner(principal), path.task_id, 'inference');
      if (!row) throw taskNotFound(path.task_id);
      // Cancelling twice is fine; cancelling a task that succeeded or failed is not.
      if (row.status !== 'REVOKED') throw taskNotReady(row.status, `The task already ended as ${row.status}.`);
      return { status: 200, body: toTaskStatus(row) };
    },

    streamInferenceEvents: async ({ path, query, headers }, { principal }): Promise<Reply<'streamInferenceEvents'>> => {
      const row = await findTask(principal, path.task_id);
      const after = decodeTaskPosition(headers['last-event-id'], query.last_event_id) ?? '0';
      if (BigInt(after) > BigInt(await taskEvents.lastId(row.task_id))) throw unsentPosition(headers['last-event-id'], query.last_event_id);
      return { status: 200, stream: taskEventStream(row.task_id, after, TERMINAL_STATES.includes(row.status), taskEvents, taskFeed) };
    },

    listInferenceTasks: async ({ query }, { principal }): Promise<Reply<'listInferenceTasks'>> => ({
      status: 200,
      body: await keysetPage(query, {
        cursor: { s: CURSOR_VALUE.int8 },
        fetch: (after, limit) => tasks.list({ owner: visibleOwner(principal), type: 'inference', status: query.status, beforeSeq: after?.s, limit }),
        position: (row) => ({ s: row.seq }),
        present: (row) => toTaskStatus(row),
      }),
    }),
  } satisfies Handlers;
}
