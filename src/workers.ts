import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { LocationRepository } from './db/locations.js';
import { ModelRepository } from './db/models.js';
import { TaskRepository } from './db/tasks.js';
import { type Job, TaskQueue } from './queue/task-queue.js';
import { QueueWorker } from './queue/worker.js';
import { CatalogueCache } from './recommender/catalogue-cache.js';
import { InferenceRunner, type InferenceRunnerOptions } from './recommender/inference-runner.js';
import { ModelRegistry } from './recommender/model-registry.js';
import { TrainingRunner } from './recommender/training-runner.js';
import { ResultRepository } from './db/results.js';

export interface WorkerHooks {
  inference?: Pick<InferenceRunnerOptions, 'beforeComplete'>;
}

export interface RunningWorkers {
  stop(): Promise<void>;
}

/** Connections of in-process workers: one per inference loop, plus training, dead letters and caches. */
const inProcessWorkerConnections = (config: Pick<Config, 'workerConcurrency'>) => config.workerConcurrency + 3;

/**
 * The workers of an API process, on connections of their own: under a burst of requests that hold
 * every pooled connection they would otherwise wait behind each one (measured: 25 of 300 tasks/s
 * finished while the requests kept coming, the rest only after).
 */
export async function startInProcessWorkers(config: Config, database: Database, log: Logger, hooks: WorkerHooks = {}): Promise<RunningWorkers> {
  const own = await database.withOwnPool(inProcessWorkerConnections(config));
  const queue = new TaskQueue(own, log, { maintenanceIntervalSeconds: config.queueMaintenanceSeconds, supervise: false });
  try {
    await queue.start();
    const workers = await startWorkers(config, own, queue, log, hooks);
    return {
      async stop() {
        await workers.stop();
        await queue.stop();
        await own.close();
      },
    };
  } catch (error) {
    await own.close();
    throw error;
  }
}

/** Starts the task workers of this process: inference, training, and their dead-letter queues. */
export async function startWorkers(
  config: Config,
  database: Database,
  queue: TaskQueue,
  log: Logger,
  hooks: WorkerHooks = {},
): Promise<RunningWorkers> {
  const tasks = new TaskRepository(database);
  const locations = new LocationRepository(database);
  const modelRepository = new ModelRepository(database);
  const catalogue = new CatalogueCache(locations, database.notifications);
  const models = new ModelRegistry(modelRepository, database.notifications);
  await catalogue.start();
  await models.start();

  const inference = new InferenceRunner(tasks, queue, catalogue, models, log, { explorationSlots: config.explorationSlots, explorationDecayLabels: config.explorationDecayLabels, challengerShare: config.challengerShare, ...hooks.inference });
  const training = new TrainingRunner({
    tasks,
    results: new ResultRepository(database),
    locations,
    models: modelRepository,
    registry: models,
    queue,
    notifications: database.notifications,
    log,
    autoActivate: config.autoActivate,
  });
  await training.start();
  /** A job that used up its retries (its worker died each time, say) ends its task as FAILURE; pg-boss then completes it. */
  const deadLetters = async (jobs: Job[]) => {
    for (const job of jobs) {
      await tasks.fail(job.data.task_id, 'FAILURE', 'The task failed on every attempt it was allowed; it will not run again.');
    }
  };

  const workers = [
    new QueueWorker(queue, 'inference', inference.handle, log, { batchSize: 50, loops: config.workerConcurrency, pollMs: 1000 }),
    new QueueWorker(queue, 'inference_dead', deadLetters, log, { batchSize: 50, loops: 1, pollMs: 5000 }),
    // Training is CPU-bound: one at a time per process.
    new QueueWorker(queue, 'training', training.handle, log, { batchSize: 1, loops: 1, pollMs: 1000 }),
    new QueueWorker(queue, 'training_dead', deadLetters, log, { batchSize: 10, loops: 1, pollMs: 5000 }),
  ];
  for (const worker of workers) await worker.start();
  log.info({ queues: ['inference', 'training'], loops: config.workerConcurrency }, 'workers started');

  return {
    async stop() {
      await training.stop();
      await Promise.all(workers.map((worker) => worker.stop()));
      await catalogue.stop();
      await models.stop();
    },
  };
}
