import { visibleOwner } from '../auth/principal.js';
import type { EventBatcher } from '../db/event-batcher.js';
import type { ModelRepository } from '../db/models.js';
import type { ResultRepository } from '../db/results.js';
import type { TaskEventRepository } from '../db/task-events.js';
import type { TaskRepository } from '../db/tasks.js';
import type { Handlers, Reply } from '../http/operations.js';
import { PROBLEM_TYPES, ProblemError } from '../http/problem.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { ChangeFeed } from '../streams/follow.js';
import { resumeId, taskEventStream } from '../streams/task-stream.js';
import { DEFAULT_TRAINING_PARAMS } from '../recommender/training-runner.js';
import { modelMetrics } from './models.js';
import { taskConflict, taskNotFound, toTaskStatus } from './inference.js';

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

  return {
    startTraining: async ({ body }, { principal }): Promise<Reply<'startTraining'>> => {
      const params = { ...DEFAULT_TRAINING_PARAMS, ...body };
      const labels = await results.countSelections();
      if (labels < params.min_labels) {
        throw new ProblemError({
          status: 422,
          type: PROBLEM_TYPES.notEnoughLabels,
          detail: `Training needs at least ${params.min_labels} labelled tasks; ${labels} exist.`,
          extensions: { labels, min_labels: params.min_labels },
        });
      }
      const row = await tasks.createTraining(principal.owner, params, enqueue);
      await events.recordSystem(principal.owner, 'training', { task_id: row.task_id, labels });
      return { status: 200, headers: { Location: `/train/status/${row.task_id}` }, body: toTaskStatus(row) };
    },

    getTrainingStatus: async ({ path }, { principal }): Promise<Reply<'getTrainingStatus'>> => {
      const row = await tasks.get(visibleOwner(principal), path.task_id, 'training');
      if (!row) throw taskNotFound(path.task_id);
      const model = row.status === 'SUCCESS' && row.model_id ? await models.get(row.model_id) : undefined;
      return { status: 200, body: toTaskStatus(row, model ? { metrics: modelMetrics(model) } : {}) };
    },

    streamTrainingEvents: async ({ path, query, headers }, { principal }): Promise<Reply<'streamTrainingEvents'>> => {
      const row = await tasks.get(visibleOwner(principal), path.task_id, 'training');
      if (!row) throw taskNotFound(path.task_id);
      const after = resumeId(headers['last-event-id'], query.last_event_id) ?? '0';
      return { status: 200, stream: taskEventStream(row.task_id, after, taskEvents, taskFeed) };
    },

    cancelTraining: async ({ path }, { principal }): Promise<Reply<'cancelTraining'>> => {
      const row = await tasks.revoke(visibleOwner(principal), path.task_id, 'training');
      if (!row) throw taskNotFound(path.task_id);
      if (row.status !== 'REVOKED') throw taskConflict(row, `The task already ended as ${row.status}.`);
      return { status: 200, body: toTaskStatus(row) };
    },
  } satisfies Handlers;
}
