import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { LocationRepository } from '../db/locations.js';
import type { ActivationDecision, ModelRepository } from '../db/models.js';
import type { Notifications } from '../db/notifications.js';
import type { ResultRepository } from '../db/results.js';
import type { ActivationRecord, ModelKind, ModelRow } from '../db/schema.js';
import { TASK_CANCELS, type TaskRepository } from '../db/tasks.js';
import type { AutoActivate } from '../config.js';
import { computeMetrics } from '../ml/metrics.js';
import { scoreExamples } from '../ml/model.js';
import type { SchemaTrainingParams } from '../generated/api.js';
import { requestDefaults } from '../generated/constants.js';
import { trainModel } from '../ml/train.js';
import type { TrainingExample } from '../ml/types.js';
import type { Job, TaskQueue } from '../queue/task-queue.js';
import type { ModelRegistry } from './model-registry.js';
import { locationFeatures, userProfile } from './profiles.js';

/** A training task's parameters: the spec's TrainingParams, every default filled in when it was started. */
type TrainingParams = Required<SchemaTrainingParams>;

/** Progress events at most this often (and always for the last epoch). */
const PROGRESS_INTERVAL_MS = 200;

/** A training error that retrying cannot fix (not enough labels, say). */
class PermanentTrainingError extends Error {}

const cancelled = () => Object.assign(new Error('The training was cancelled.'), { name: 'AbortError' });

/**
 * Runs training jobs: builds the training set from the labelled selections (the pick is a
 * positive, the other shown results negatives; a pick of -1 gives negatives only; each task one
 * list for the choice objective), trains in this
 * process without blocking the event loop, reports progress per epoch, stores the new version and
 * activates it (or starts it as the challenger) according to AUTO_ACTIVATE. A cancel from any process stops it between batches.
 */
export class TrainingRunner {
  private readonly running = new Map<string, AbortController>();
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly deps: {
      tasks: TaskRepository;
      results: ResultRepository;
      locations: LocationRepository;
      models: ModelRepository;
      registry: ModelRegistry;
      queue: TaskQueue;
      notifications: Notifications;
      log: Logger;
      autoActivate: AutoActivate;
    },
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.deps.notifications.listen(TASK_CANCELS, (taskId) => this.running.get(taskId)?.abort());
  }

  async stop(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    await this.unlisten?.();
  }

  readonly handle = async (jobs: Job[]): Promise<void> => {
    for (const job of jobs) await this.runJob(job);
  };

  private async runJob(job: Job): Promise<void> {
    const { tasks, queue, log } = this.deps;
    const taskId = job.data.task_id;
    const controller = new AbortController();
    this.running.set(taskId, controller);
    try {
      const task = await tasks.claimTraining(taskId);
      if (task) await this.train(taskId, { ...requestDefaults.startTraining.body, ...task.params }, controller.signal);
      await queue.complete('training', [job.id]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof Error && error.name === 'AbortError') {
        // Cancelled: the task is already REVOKED and no model was stored.
        await queue.complete('training', [job.id]);
      } else if (error instanceof PermanentTrainingError || !isDatabaseUnavailable(error)) {
        // Training is deterministic: anything but an unreachable database would fail again.
        log.warn({ task_id: taskId, error: message }, 'training failed');
        await tasks.fail(taskId, 'FAILURE', message).catch(() => undefined);
        await queue.complete('training', [job.id]).catch(() => undefined);
      } else {
        const final = job.retryCount >= job.retryLimit;
        await tasks.fail(taskId, final ? 'FAILURE' : 'RETRY', message).catch(() => undefined);
        await queue.fail('training', job.id, message).catch(() => undefined);
      }
    } finally {
      this.running.delete(taskId);
    }
  }

  private async train(taskId: string, params: TrainingParams, signal: AbortSignal): Promise<void> {
    const { tasks, results, locations, models, registry, autoActivate } = this.deps;
    const labelled = await results.labelledTasks();
    if (labelled.length < params.min_labels) {
      throw new PermanentTrainingError(`Training needs at least ${params.min_labels} labelled tasks; ${labelled.length} exist.`);
    }
    const catalogue = await locations.getMany(labelled.flatMap((task) => task.shownLocationIds));
    // Each task is one list the user chose from (the choice objective's group).
    const examples: TrainingExample[] = labelled.flatMap((task, group) =>
      task.shownLocationIds.flatMap((locationId) => {
        const location = catalogue.get(locationId);
        const label = locationId === task.pickedLocationId ? (1 as const) : (0 as const);
        return location ? [{ user: userProfile(task.user), location: locationFeatures(location), label, group }] : [];
      }),
    );

    let reported = 0;
    const trained = await trainModel(
        examples,
      { epochs: params.epochs, learning_rate: params.learning_rate, seed: params.seed, holdout_fraction: params.holdout_fraction },
      {
        signal,
        onEpoch: async (epoch, epochs, loss) => {
          if (epoch < epochs && performance.now() - reported < PROGRESS_INTERVAL_MS) return;
          reported = performance.now();
          // False: the task is no longer STARTED (revoked), so stop.
            if (!(await tasks.progress(taskId, epoch / epochs, { epoch, epochs, loss }))) throw cancelled();
          },
        },
      );

    // The active model, measured on the same hold-out set, is what a new version must match.
    const active = await registry.active();
    const previousAuc = computeMetrics(
      trained.holdout.map((example) => example.label),
      scoreExamples(await registry.artifact(active.id), trained.holdout),
    ).auc;
    const decide = (current: ModelRow | undefined): ActivationDecision => {
      const previousValue = current?.model_id === active.id ? previousAuc : (current?.metrics?.auc ?? null);
      const better = previousValue === null || Number.isNaN(previousValue) || trained.metrics.auc >= previousValue;
      const activate = autoActivate === 'always' || (autoActivate === 'if_better' && better);
      // Under `online` the offline gate only admits a challenger; the online test decides the rest.
      const challenger = autoActivate === 'online' && better;
      const record: ActivationRecord = {
        policy: autoActivate,
        decision: activate ? 'activated' : challenger ? 'challenger' : 'kept_previous',
        metric: 'auc',
        new_value: trained.metrics.auc,
        previous_model_id: current?.model_id ?? null,
        previous_value: previousValue === null || Number.isNaN(previousValue) ? null : previousValue,
        decided_at: new Date().toISOString(),
      };
      const status = activate ? 'active' : challenger ? 'challenger' : autoActivate === 'never' ? 'standby' : 'rejected';
      return { activate, status, record };
    };
    if (signal.aborted) throw cancelled();
    const kind: ModelKind = trained.artifact.hidden ? 'neural-network' : 'logistic-regression';
    const model = await models.addVersion(
      { kind, artifact: { ...trained.artifact }, metrics: trained.metrics, trainingTaskId: taskId, labelsUsed: labelled.length },
      decide,
    );
    await tasks.completeTraining(taskId, { id: model.model_id, version: model.version }, {
      model_id: model.model_id,
      model_version: model.version,
      activated: model.active,
    });
  }
}
