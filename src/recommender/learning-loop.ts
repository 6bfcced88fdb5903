import type { Logger } from 'pino';
import { armOf, onlineOf, since, type ChallengeVerdict, type ModelRepository } from '../db/models.js';
import type { ArmSnapshot } from '../db/schema.js';
import type { Enqueue, TaskRepository } from '../db/tasks.js';
import { requestDefaults } from '../generated/constants.js';
import { ONLINE_TEST, onlineTest } from '../ml/online-test.js';

/** The owner of training runs the service starts by itself (TRAIN_EVERY_LABELS). */
export const AUTO_OWNER = 'auto';

export interface LearningLoopSettings {
  /** Challenger answers after which an undecided test retires it (CHALLENGER_MAX_FEEDBACK). */
  challengerMaxFeedback: number;
  /** Start a training run after this many new labels (TRAIN_EVERY_LABELS); undefined: never. */
  trainEveryLabels: number | undefined;
}

const sums = (arm: ArmSnapshot) => ({ n: arm.feedback, sum: arm.reciprocal_rank_sum, sumSquares: arm.reciprocal_rank_sq_sum });

/**
 * What follows a user's answer (PUT /inference/select): the champion/challenger test looks at the
 * new evidence and promotes or retires the challenger once it is decided, and a training run
 * starts once TRAIN_EVERY_LABELS new labels have come in since the newest version's (one at a
 * time; after a failed run, only once a new version exists). Both read a
 * handful of rows (one per version), whatever the number of tasks.
 */
export class LearningLoop {
  constructor(
    private readonly deps: {
      models: ModelRepository;
      tasks: TaskRepository;
      enqueueTraining: Enqueue;
      log: Logger;
      settings: LearningLoopSettings;
    },
  ) {}

  /**
   * Never fails the answer, which is committed already: what this could not decide now, the next
   * answer decides (its sums include this one's).
   */
  async afterAnswer(): Promise<void> {
    try {
      await this.judgeChallenger();
      await this.trainIfDue();
    } catch (error) {
      this.deps.log.warn({ err: error }, 'the learning loop could not look at an answer');
    }
  }

  /** The test's verdict on these sums, or undefined while it runs. */
  private verdict(champion: ArmSnapshot, challenger: ArmSnapshot): ChallengeVerdict | undefined {
    const result = onlineTest(sums(champion), sums(challenger), { ...ONLINE_TEST, maximumChallenger: this.deps.settings.challengerMaxFeedback });
    if (result.decision === 'running') return undefined;
    return { decision: result.decision, champion, challenger, difference: result.difference, likelihood_ratio: result.likelihoodRatio, threshold: result.threshold };
  }

  private async judgeChallenger(): Promise<void> {
    const { models, log } = this.deps;
    const challenger = await models.challenger();
    const challenge = challenger?.challenge;
    if (!challenger || !challenge) return;
    // A look without the lock first: most answers decide nothing.
    const online = await models.online([challenger.model_id, challenge.champion_model_id]);
    const champion = since(armOf(onlineOf(online, challenge.champion_model_id)), challenge.champion_baseline);
    if (!this.verdict(champion, armOf(onlineOf(online, challenger.model_id)))) return;
    const decided = await models.judgeChallenger(challenger.model_id, (a, b) => this.verdict(a, b));
    if (decided) log.info({ model_id: decided.model_id, version: decided.version, status: decided.status }, 'the online test decided on the challenger');
  }

  private async trainIfDue(): Promise<void> {
    const { models, tasks, enqueueTraining, log, settings } = this.deps;
    if (settings.trainEveryLabels === undefined) return;
    const { labels, newestLabelsUsed, newestCreatedAt } = await models.labelCounts();
    if (labels - newestLabelsUsed < settings.trainEveryLabels) return;
    // After a failed run the next waits for a new version (a run started by hand), not the next answer.
    const task = await tasks.createTrainingIfIdle(AUTO_OWNER, { ...requestDefaults.startTraining.body }, enqueueTraining, newestCreatedAt);
    if (task) log.info({ task_id: task.task_id, labels, since: newestLabelsUsed }, 'started a training run (TRAIN_EVERY_LABELS)');
  }
}
