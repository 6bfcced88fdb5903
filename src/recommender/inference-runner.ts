import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { InferenceOutcome, TaskRepository } from '../db/tasks.js';
import { servedRanking, type ServingPolicy } from '../ml/model.js';
import { isChallengerTask } from '../ml/online-test.js';
import type { Job, TaskQueue } from '../queue/task-queue.js';
import type { CatalogueCache } from './catalogue-cache.js';
import type { ModelRegistry } from './model-registry.js';
import { userProfile } from './profiles.js';

/** How many ranked locations an inference task stores: the most the results route returns. */
export const STORED_RESULTS = 100;
/** The results a user sees by default (the results route's default limit); exploration slots go there. */
export const SHOWN_RESULTS = 10;

export interface InferenceRunnerOptions {
  /** Most positions of the top 10 given to locations outside the model's favourites (see rankCatalogue). */
  explorationSlots: number;
  /** How exploration fades with the labels the model learnt from (see explorationSlotsFor). */
  explorationDecayLabels: number;
  /** Share of new tasks a challenger ranks, chosen by task number (see isChallengerTask). */
  challengerShare: number;
  /** Test hook: runs before results are written, to inject faults. */
  beforeComplete?: (taskIds: string[]) => Promise<void> | void;
}

/**
 * Runs a batch of inference jobs: claims the tasks (STARTED, each pinned to the champion or, for
 * the challenger's share, to the challenger), scores
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

  private get policy(): ServingPolicy {
    const { explorationSlots, explorationDecayLabels } = this.options;
    return { explorationSlots, explorationDecayLabels, limit: STORED_RESULTS, shown: SHOWN_RESULTS };
  }

  readonly handle = async (jobs: Job[]): Promise<void> => {
    try {
      await this.run(jobs);
    } catch (error) {
      await this.retryOrFail(jobs, error);
    }
  };

  private async run(jobs: Job[]): Promise<void> {
    const { champion: active, challenger } = await this.models.serving();
    const share = this.options.challengerShare;
    const claimed = await this.tasks.claimInference(
      jobs.map((job) => job.data.task_id),
      active,
      challenger && share > 0 ? { model: challenger, takes: (seq) => isChallengerTask(Number(seq), share) } : undefined,
    );
    const catalogue = await this.catalogue.get();
    const outcomes: InferenceOutcome[] = [];
    const failures: { taskId: string; error: string }[] = [];
    for (const task of claimed) {
      // Scoring is synchronous: between tasks, pg-boss' heartbeat (which keeps the batch's jobs
      // claimed) and the LISTEN connection get their turn.
      await yieldToEventLoop();
      try {
        const modelId = task.model_id ?? active.id;
        const ranking = servedRanking(await this.models.model(modelId), userProfile(task.user), catalogue, this.policy, Number(task.seq));
        outcomes.push({
          taskId: task.task_id,
          locationIds: ranking.map((item) => item.location_id),
          scores: ranking.map((item) => item.score),
          explorationRanks: ranking.filter((item) => item.exploration).map((item) => item.rank),
        });
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
    // Returning completes the batch's jobs (pg-boss, fenced to the attempts fetched).
  }

  /** A batch that failed as a whole (database gone, for example): each job is retried with backoff. */
  private async retryOrFail(jobs: Job[], error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.log.warn({ err: error, jobs: jobs.length }, 'inference batch failed; retrying');
    let unrecorded: unknown;
    for (const job of jobs) {
      const final = job.retryCount >= job.retryLimit;
      try {
        await this.tasks.fail(job.data.task_id, final ? 'FAILURE' : 'RETRY', message);
        await this.queue.fail('inference', job.id, message);
      } catch (failError) {
        this.log.warn({ err: failError, job: job.id }, 'could not record the failure');
        unrecorded = failError;
      }
    }
    // The database is still away: throwing keeps pg-boss from completing the jobs it could not
    // fail; pg-boss fails them itself, or they expire and are retried.
    if (unrecorded) throw unrecorded;
  }
}
