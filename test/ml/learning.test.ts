import { describe, expect, it } from 'vitest';
import { initialModel, rankCatalogue, servedRanking, type ServingPolicy } from '../../src/ml/model.js';
import { Random } from '../../src/ml/random.js';
import { evaluateRanking, randomRanking, sampleUser, trainingExamples } from '../../src/ml/simulation.js';
import { DEFAULT_TRAINING_OPTIONS, trainModel } from '../../src/ml/train.js';
import type { ModelArtifact, UserProfile } from '../../src/ml/types.js';
import { catalogue, initialSearches, userTypes } from './fixtures.js';

/**
 * The "make simulate" targets, offline: 500 searches ranked by the initial model (top 10,
 * two exploration slots), picks by the user model, one training run with the default options,
 * then ranking quality on fresh simulated travellers, ranked as the service serves them
 * (servedRanking: exploration slots included, as many as each model's evidence calls for).
 */
describe('learning from simulated feedback', () => {
  const policy: ServingPolicy = { explorationSlots: 2, explorationDecayLabels: 25, limit: 10, shown: 10 };
  const served = (artifact: ModelArtifact, labelsUsed: number) => {
    let task = 0;
    return (user: UserProfile) => servedRanking({ artifact, labelsUsed }, user, catalogue, policy, ++task).map((result) => result.location_id);
  };

  // Training 150 epochs takes a few seconds alone, and more on a loaded machine.
  it('beats random and the initial model on NDCG@10 and reaches the targets as served', { timeout: 180_000 }, async () => {
    const searches = initialSearches(500, 1);
    const { artifact, metrics } = await trainModel(trainingExamples(searches, catalogue), DEFAULT_TRAINING_OPTIONS);

    const random = new Random(2024);
    const users = Array.from({ length: 1000 }, () => sampleUser(userTypes, random));
    const baseline = evaluateRanking(randomRanking(new Random(1), catalogue), users, catalogue);
    const initial = evaluateRanking(served(initialModel(), 0), users, catalogue);
    const trained = evaluateRanking(served(artifact, searches.length), users, catalogue);
    const unexplored = evaluateRanking((user) => rankCatalogue(artifact, user, catalogue, 10).map((result) => result.location_id), users, catalogue);

    expect(initial.ndcg).toBeGreaterThan(baseline.ndcg + 0.1);
    expect(trained.ndcg).toBeGreaterThanOrEqual(initial.ndcg + 0.3);
    expect(trained.ndcg).toBeGreaterThanOrEqual(0.95);
    expect(trained.hit_rate).toBe(1);
    // Exploration that faded costs little: within 0.01 of the same model without any.
    expect(unexplored.ndcg - trained.ndcg).toBeLessThan(0.01);
    expect(metrics.auc).toBeGreaterThan(0.8);
  });
});
