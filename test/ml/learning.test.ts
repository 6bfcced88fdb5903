import { describe, expect, it } from 'vitest';
import { initialModel, rankCatalogue } from '../../src/ml/model.js';
import { Random } from '../../src/ml/random.js';
import { evaluateRanking, randomRanking, sampleUser, trainingExamples } from '../../src/ml/simulation.js';
import { DEFAULT_TRAINING_OPTIONS, trainModel } from '../../src/ml/train.js';
import type { ModelArtifact, UserProfile } from '../../src/ml/types.js';
import { catalogue, initialSearches, userTypes } from './fixtures.js';

/**
 * The "make simulate" targets, offline: 500 searches ranked by the initial model (top 10,
 * two exploration slots), picks by the user model, one training run with the default options,
 * then ranking quality on fresh simulated travellers.
 */
describe('learning from simulated feedback', () => {
  const topTen = (artifact: ModelArtifact) => (user: UserProfile) =>
    rankCatalogue(artifact, user, catalogue, 10).map((result) => result.location_id);

  it('beats random and the initial model on NDCG@10 and reaches the targets', async () => {
    const searches = initialSearches(500, 1);
    const { artifact, metrics } = await trainModel(trainingExamples(searches, catalogue), DEFAULT_TRAINING_OPTIONS);

    const random = new Random(2024);
    const users = Array.from({ length: 1000 }, () => sampleUser(userTypes, random));
    const baseline = evaluateRanking(randomRanking(new Random(1), catalogue), users, catalogue);
    const initial = evaluateRanking(topTen(initialModel()), users, catalogue);
    const trained = evaluateRanking(topTen(artifact), users, catalogue);

    expect(initial.ndcg).toBeGreaterThan(baseline.ndcg + 0.1);
    expect(trained.ndcg).toBeGreaterThan(baseline.ndcg);
    expect(trained.ndcg).toBeGreaterThanOrEqual(initial.ndcg + 0.1);
    expect(trained.ndcg).toBeGreaterThanOrEqual(0.85);
    expect(trained.hit_rate).toBeGreaterThanOrEqual(0.98);
    expect(metrics.auc).toBeGreaterThan(0.8);
  });
});
