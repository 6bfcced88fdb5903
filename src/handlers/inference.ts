import { isAdmin, type Principal, visibleOwner } from '../auth/principal.js';
import type { EventBatcher } from '../db/event-batcher.js';
import type { LocationRepository } from '../db/locations.js';
import type { ResultRepository } from '../db/results.js';
import type { LocationRow, TaskRow } from '../db/schema.js';
import type { TaskEventRepository } from '../db/task-events.js';
import type { TaskRepository } from '../db/tasks.js';
import type { SchemaLocationFields, SchemaTaskStatus, SchemaUserData } from '../generated/api.js';
import { CURSOR_VALUE, decodeCursor, encodeCursor } from '../http/cursor.js';
import type { Handlers, Reply } from '../http/operations.js';
import { PROBLEM_TYPES, ProblemError } from '../http/problem.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { locationFeatures } from '../recommender/profiles.js';
import type { ChangeFeed } from '../streams/follow.js';
import { resumeId, taskEventStream } from '../streams/task-stream.js';

export function toTaskStatus(row: TaskRow, extra: Pick<SchemaTaskStatus, 'metrics'> = {}): SchemaTaskStatus {
  return {
    task_id: row.task_id,
    status: row.status,
    type: row.type,
    progress: row.progress,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
    error: row.error,
    model_id: row.model_id,
    model_version: row.model_version,
    ...extra,
  };
}

export function locationFields(row: LocationRow): SchemaLocationFields {
  const { location_id: _id, ...fields } = locationFeatures(row);
  return fields;
}

/** 404 for unknown tasks and for other owners' tasks alike, so ids cannot be probed. */
export function taskNotFound(taskId: string): ProblemError {
  return ProblemError.notFound(`No task with task_id "${taskId}" exists.`);
}

export function taskConflict(row: TaskRow, detail: string): ProblemError {
  return new ProblemError({ status: 409, type: PROBLEM_TYPES.taskNotReady, detail, extensions: { current_status: row.status } });
}

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
}

export function inferenceHandlers({ tasks, taskEvents, taskFeed, results, locations, queue, events }: InferenceDependencies) {
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
      if (errors.length > 0) throw ProblemError.validation(errors);
      const row = await tasks.createInference(principal.owner, body, enqueue);
      await log(principal, 'inference_start', { task_id: row.task_id });
      return { status: 200, headers: { Location: `/inference/status/${row.task_id}` }, body: toTaskStatus(row) };
    },

    getInferenceStatus: async ({ path }, { principal }): Promise<Reply<'getInferenceStatus'>> => {
      const row = await findTask(principal, path.task_id);
      await log(principal, 'status', { task_id: row.task_id, status: row.status });
      return { status: 200, body: toTaskStatus(row) };
    },

    getInferenceResults: async ({ path, query }, { principal }): Promise<Reply<'getInferenceResults'>> => {
      const limit = query.limit ?? 10;
      const row = await findTask(principal, path.task_id);
      if (row.status !== 'SUCCESS') throw taskConflict(row, `The task is ${row.status}; results exist once it is SUCCESS.`);
      const stored = await results.get(row.task_id);
      if (!stored) throw taskConflict(row, 'The task has no stored results.');
      const ids = stored.location_ids.slice(0, limit);
      const rows = await locations.getMany(ids);
      await results.markShown(row.task_id, ids.length);
      await log(principal, 'results', { task_id: row.task_id, limit });
      return {
        status: 200,
        body: ids.flatMap((locationId, index) => {
          const location = rows.get(locationId);
          return location ? [{ location_id: locationId, score: stored.scores[index] ?? 0, rank: index + 1, ...locationFields(location) }] : [];
        }),
      };
    },

    selectInferenceResult: async ({ body }, { principal }): Promise<Reply<'selectInferenceResult'>> => {
      const row = await findTask(principal, body.task_id);
      if (row.status !== 'SUCCESS') throw taskConflict(row, `The task is ${row.status}; only a SUCCESS task's results can be picked.`);
      await log(principal, 'selection', { task_id: row.task_id, location_id: body.location_id });
      let rank: number | null = null;
      if (body.location_id === -1) {
        await log(principal, 'bad_inference', { task_id: row.task_id });
      } else {
        const stored = await results.get(row.task_id);
        const index = stored?.location_ids.indexOf(body.location_id) ?? -1;
        if (index < 0) throw ProblemError.notFound(`Location ${body.location_id} is not among the results of task ${row.task_id}.`);
        rank = index + 1;
        await log(principal, 'good_inference', { task_id: row.task_id, location_id: body.location_id, rank });
      }
      const selection = await results.select(row.owner, row.task_id, body.location_id, rank);
      return {
        status: 200,
        body: { task_id: selection.task_id, location_id: selection.location_id, rank: selection.rank, selected_at: selection.selected_at.toISOString() },
      };
    },

    cancelInference: async ({ path }, { principal }): Promise<Reply<'cancelInference'>> => {
      const row = await tasks.revoke(visibleOwner(principal), path.task_id, 'inference');
      if (!row) throw taskNotFound(path.task_id);
      // Cancelling twice is fine; cancelling a task that succeeded or failed is not.
      if (row.status !== 'REVOKED') throw taskConflict(row, `The task already ended as ${row.status}.`);
      return { status: 200, body: toTaskStatus(row) };
    },

    streamInferenceEvents: async ({ path, query, headers }, { principal }): Promise<Reply<'streamInferenceEvents'>> => {
      const row = await findTask(principal, path.task_id);
      const after = resumeId(headers['last-event-id'], query.last_event_id) ?? '0';
      return { status: 200, stream: taskEventStream(row.task_id, after, taskEvents, taskFeed) };
    },

    listInferenceTasks: async ({ query }, { principal }): Promise<Reply<'listInferenceTasks'>> => {
      const limit = query.limit ?? 50;
      const cursor = decodeCursor(query.cursor, { s: CURSOR_VALUE.int8 });
      const rows = await tasks.list({ owner: isAdmin(principal) ? undefined : principal.owner, type: 'inference', status: query.status, beforeSeq: cursor?.s, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        status: 200,
        body: { items: page.map((row) => toTaskStatus(row)), next_cursor: rows.length > limit && last ? encodeCursor({ s: last.seq }) : null },
      };
    },
  } satisfies Handlers;
}
