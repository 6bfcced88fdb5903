import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { InferenceOutcome, TaskRepository } from '../db/tasks.js';
import { rankCatalogue } from '../ml/model.js';
import { Random } from '../ml/random.js';
import type { Job, TaskQueue } from '../queue/task-queue.js';
import type { CatalogueCache } from './catalogue-cache.js';
import type { ModelRegistry } from './model-registry.js';
import { userProfile } from './profiles.js';

/** How many ranked locations an inference task stores: the most the results route returns. */
export const STORED_RESULTS = 100;
/** The results a user sees by default (the results route's default limit); exploration slots go there. */
export const SHOWN_RESULTS = 10;

export interface InferenceRunnerOptions {
  /** Positions of the top 10 given to locations outside the model's favourites (see rankCatalogue). */
  explorationSlots: number;
  /** Test hook: runs before results are written, to inject faults. */
  beforeComplete?: (taskIds: string[]) => Promise<void> | void;
}

/**
 * Runs a batch of inference jobs: claims the tasks (STARTED, pinned to the active model), scores
 * each search against the whole catalogue in one pass, then stores every ranking and marks the
 * tasks SUCCESS in one transaction. Results are written at most once per task, so a job that runs
 * again after a crash cannot duplicate them, and a task revoked meanwhile keeps REVOKED.
 */
export class InferenceRunner {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly queue: TaskQueue,
    private readonly catalogue: CatalogueCache,
    private readonly models: ModelRegistry,
    private readonly log: Logger,
    private readonly options: InferenceRunnerOptions,
  ) {}

  readonly handle = async (jobs: Job[]): Promise<void> => {
    try {
      await this.run(jobs);
    } catch (error) {
      await this.retryOrFail(jobs, error);
    }
  };

  private async run(jobs: Job[]): Promise<void> {
    const active = await this.models.active();
    const claimed = await this.tasks.claimInference(
      jobs.map((job) => job.data.task_id),
      active,
    );
    const catalogue = await this.catalogue.get();
    const outcomes: InferenceOutcome[] = [];
    const failures: { taskId: string; error: string }[] = [];
    for (const task of claimed) {
      try {
        const artifact = await this.models.artifact(task.model_id ?? active.id);
        const ranking = rankCatalogue(artifact, userProfile(task.user), catalogue, STORED_RESULTS, {
          explorationSlots: this.options.explorationSlots,
          explorationWindow: SHOWN_RESULTS,
          random: new Random(Number(task.seq)),
        });
        outcomes.push({ taskId: task.task_id, locationIds: ranking.map((item) => item.location_id), scores: ranking.map((item) => item.score) });
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw error;
        // Scoring itself failed (a broken model, for example): retrying would fail the same way.
        failures.push({ taskId: task.task_id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await this.options.beforeComplete?.(outcomes.map((outcome) => outcome.taskId));
    await this.tasks.completeInference(outcomes);
    for (const failure of failures) {
      this.log.warn({ task_id: failure.taskId, error: failure.error }, 'inference task failed');
      await this.tasks.fail(failure.taskId, 'FAILURE', failure.error);
    }
    await this.queue.complete('inference', jobs.map((job) => job.id));
  }

  /** A batch that failed as a whole (database gone, for example): each job is retried with backoff. */
  private async retryOrFail(jobs: Job[], error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.log.warn({ err: error, jobs: jobs.length }, 'inference batch failed; retrying');
    for (const job of jobs) {
      const final = job.retryCount >= job.retryLimit;
      try {
        await this.tasks.fail(job.data.task_id, final ? 'FAILURE' : 'RETRY', message);
        await this.queue.fail('inference', job.id, message);
      } catch (failError) {
        // The database is still away: the job expires and pg-boss retries it then.
        this.log.warn({ err: failError, job: job.id }, 'could not record the failure');
      }
    }
  }
}
