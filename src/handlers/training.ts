import { type Principal, visibleOwner } from '../auth/principal.js';
import type { EventBatcher } from '../db/event-batcher.js';
import type { ModelRepository } from '../db/models.js';
import type { ResultRepository } from '../db/results.js';
import type { TaskEventRepository } from '../db/task-events.js';
import { TERMINAL_STATES, type TaskRepository } from '../db/tasks.js';
import type { JsonObject } from '../db/schema.js';
import { CURSOR_VALUE, decodeTaskPosition, unsentPosition } from '../http/cursor.js';
import { keysetPage } from '../http/pagination.js';
import { requestDefaults } from '../generated/constants.js';
import type { Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { ChangeFeed } from '../streams/follow.js';
import { taskEventStream } from '../streams/task-stream.js';
import { taskNotFound, taskNotReady } from '../domain/tasks.js';
import { toTaskStatus } from '../presenters/tasks.js';

export interface TrainingDependencies {
  tasks: TaskRepository;
  taskEvents: TaskEventRepository;
  taskFeed: ChangeFeed;
  results: ResultRepository;
  models: ModelRepository;
  queue: TaskQueue;
  events: EventBatcher;
}

export function trainingHandlers({ tasks, taskEvents, taskFeed, results, models, queue, events }: TrainingDependencies) {
  const enqueue = queue.enqueue('training');
  const start = async (principal: Principal, params: JsonObject & { min_labels: number }): Promise<Reply<'startTraining'>> => {
    const labels = await results.countSelections();
    if (labels < params.min_labels) {
      throw new DomainError('not_enough_labels', `Training needs at least ${params.min_labels} labelled tasks; ${labels} exist.`, {
        extensions: { labels, min_labels: params.min_labels },
      });
    }
    const row = await tasks.createTraining(principal.owner, params, enqueue);
    await events.recordSystem(principal.owner, 'training', { task_id: row.task_id, labels });
    return { status: 200, headers: { Location: `/train/status/${row.task_id}` }, body: toTaskStatus(row) };
  };

  return {
    // Without a body the validator has nothing to fill in: the spec's defaults, then.
    startTraining: async ({ body }, { principal }): Promise<Reply<'startTraining'>> => start(principal, body ?? requestDefaults.startTraining.body),

    retryTraining: async ({ path }, { principal }): Promise<Reply<'retryTraining'>> => {
      const row = await tasks.get(visibleOwner(principal), path.task_id, 'training');
      if (!row) throw taskNotFound(path.task_id);
      // Stored parameters, completed with today's defaults as the runner does.
      return start(principal, { ...requestDefaults.startTraining.body, ...row.params });
    },

    listTrainingTasks: async ({ query }, { principal }): Promise<Reply<'listTrainingTasks'>> => ({
      status: 200,
      body: await keysetPage(query, {
        cursor: { s: CURSOR_VALUE.int8 },
        fetch: (after, limit) => tasks.list({ owner: visibleOwner(principal), type: 'training', status: query.status, beforeSeq: after?.s, limit }),
        position: (row) => ({ s: row.seq }),
        present: (row) => toTaskStatus(row),
      }),
    }),

    getTrainingStatus: async ({ path }, { principal }): Promise<Reply<'getTrainingStatus'>> => {
      const row = await tasks.get(visibleOwner(principal), path.task_id, 'training');
      if (!row) throw taskNotFound(path.task_id);
      const model = row.status === 'SUCCESS' && row.model_id ? await models.get(row.model_id) : undefined;
      return { status: 200, body: toTaskStatus(row, model ? { metrics: model.metrics } : {}) };
    },

    streamTrainingEvents: async ({ path, query, headers }, { principal }): Promise<Reply<'streamTrainingEvents'>> => {
      const row = await tasks.get(visibleOwner(principal), path.task_id, 'training');
      if (!row) throw taskNotFound(path.task_id);
      const after = decodeTaskPosition(headers['last-event-id'], query.last_event_id) ?? '0';
      if (BigInt(after) > BigInt(await taskEvents.lastId(row.task_id))) throw unsentPosition(headers['last-event-id'], query.last_event_id);
      return { status: 200, stream: taskEventStream(row.task_id, after, TERMINAL_STATES.includes(row.status), taskEvents, taskFeed) };
    },

    cancelTraining: async ({ path }, { principal }): Promise<Reply<'cancelTraining'>> => {
      const row = await tasks.revoke(visibleOwner(principal), path.task_id, 'training');
      if (!row) throw taskNotFound(path.task_id);
      if (row.status !== 'REVOKED') throw taskNotReady(row.status, `The task already ended as ${row.status}.`);
      return { status: 200, body: toTaskStatus(row) };
    },
  } satisfies Handlers;
}
