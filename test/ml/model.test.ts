import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/ml/features.js';
import { initialModel, rankCatalogue, scoreCatalogue, scoreExamples, sigmoid } from '../../src/ml/model.js';
import { Random } from '../../src/ml/random.js';
import type { ModelArtifact, UserProfile } from '../../src/ml/types.js';
import { catalogue, locations } from './fixtures.js';

const user: UserProfile = {
  people_num: 2,
  people_age: [34, 6],
  children_num: 1,
  budget: 400,
  nights: 3,
  pool: true,
  spa: false,
  pet_friendly: false,
  lake: true,
  mountain: false,
  sport: false,
};

const features = FEATURE_NAMES.length;
const zeros = () => Array<number>(features).fill(0);
const ones = () => Array<number>(features).fill(1);
const userScore = FEATURE_NAMES.indexOf('location.user_score');

/** Every weight 0: every location scores sigmoid(0) = 0.5. */
function flatModel(): ModelArtifact {
  return {
    format: 'portico-ranker/1',
    features: [...FEATURE_NAMES],
    scaling: { min: zeros(), max: ones() },
    weights: zeros(),
    bias: 0,
    metadata: {},
  };
}

describe('initialModel', () => {
  it('is a plain-JSON artifact over the current features', () => {
    const model = initialModel();
    expect(model.features).toEqual(FEATURE_NAMES);
    expect(model.metadata).toMatchObject({ kind: 'hand-set' });
    expect(JSON.parse(JSON.stringify(model))).toEqual(model);
  });

  it('prefers the better-scored of two otherwise equal locations', () => {
    const [first] = locations;
    const better = { ...first!, location_id: 1, user_score: 4.5 };
    const worse = { ...first!, location_id: 2, user_score: 1.5 };
    const [high, low] = scoreExamples(initialModel(), [
      { user, location: better, label: 1 },
      { user, location: worse, label: 0 },
    ]);
    expect(high).toBeGreaterThan(low!);
  });
});

describe('scoring', () => {
  it('gives every location a probability, the same through the catalogue and the examples', () => {
    const model = initialModel();
    const scores = scoreCatalogue(model, user, catalogue);
    expect(scores).toHaveLength(210);
    for (const score of scores) {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(1);
    }
    const examples = locations.map((location) => ({ user, location, label: 0 as const }));
    expect(Array.from(scoreExamples(model, examples))).toEqual(Array.from(scores));
  });

  it('applies the min-max scaling, the ReLU hidden layer and the sigmoid', () => {
    const hiddenWeights = (weight: number) => zeros().map((_, j) => (j === userScore ? weight : 0));
    const model: ModelArtifact = {
      ...flatModel(),
      scaling: { min: zeros(), max: ones().map((_, j) => (j === userScore ? 5 : 1)) },
      hidden: { weights: [hiddenWeights(1), hiddenWeights(-1)], biases: [0, 0] },
      weights: [2, 3],
      bias: -1,
    };
    const [location] = locations;
    const [score] = scoreExamples(model, [{ user, location: location!, label: 0 }]);
    // The second unit's activation is negative, so ReLU drops it.
    expect(score).toBeCloseTo(sigmoid(2 * (location!.user_score / 5) - 1), 12);
  });

  it('rejects an artifact made for other features', () => {
    const model = { ...flatModel(), features: [...FEATURE_NAMES].reverse() };
    expect(() => scoreCatalogue(model, user, catalogue)).toThrow(/other features/);
    expect(() => scoreCatalogue({ ...flatModel(), weights: [1] }, user, catalogue)).toThrow(/output layer needs/);
  });
});

describe('rankCatalogue', () => {
  it('returns the top locations by score with ranks from 1', () => {
    const model = initialModel();
    const scores = scoreCatalogue(model, user, catalogue);
    const ranked = rankCatalogue(model, user, catalogue, 10);
    expect(ranked.map((result) => result.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const best = Math.max(...scores);
    expect(ranked[0]!.score).toBe(best);
    for (let i = 1; i < ranked.length; i += 1) expect(ranked[i]!.score).toBeLessThanOrEqual(ranked[i - 1]!.score);
    expect(ranked.every((result) => !result.exploration)).toBe(true);
  });

  it('breaks ties by location_id and stops at the catalogue size', () => {
    expect(rankCatalogue(flatModel(), user, catalogue, 5).map((result) => result.location_id)).toEqual([1, 2, 3, 4, 5]);
    expect(rankCatalogue(flatModel(), user, catalogue, 1000)).toHaveLength(210);
    expect(rankCatalogue(flatModel(), user, catalogue, 0)).toEqual([]);
  });

  it('fills the last exploration slots with other locations, reproducibly for a seed', () => {
    const model = initialModel();
    const top = rankCatalogue(model, user, catalogue, 10);
    const explore = (seed: number) => rankCatalogue(model, user, catalogue, 10, { explorationSlots: 3, random: new Random(seed) });
    const ranked = explore(1);
    expect(ranked.slice(0, 7)).toEqual(top.slice(0, 7));
    expect(ranked.map((result) => result.exploration)).toEqual([...Array<boolean>(7).fill(false), true, true, true]);
    expect(ranked.map((result) => result.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(ranked.map((result) => result.location_id)).size).toBe(10);
    expect(explore(1)).toEqual(ranked);
    expect(explore(2).slice(7)).not.toEqual(ranked.slice(7));
  });

  it('needs a generator for exploration', () => {
    expect(() => rankCatalogue(initialModel(), user, catalogue, 10, { explorationSlots: 2 })).toThrow(/options.random/);
  });
});
