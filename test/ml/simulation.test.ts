import { describe, expect, it } from 'vitest';
import { Random } from '../../src/ml/random.js';
import {
  acceptable,
  appeal,
  evaluateRanking,
  pick,
  randomRanking,
  sampleUser,
  trainingExamples,
  type SimulatedUser,
} from '../../src/ml/simulation.js';
import type { LocationFeatures, UserProfile } from '../../src/ml/types.js';
import { catalogue, locations, userType, userTypes } from './fixtures.js';

const profile: UserProfile = {
  people_num: 2,
  people_age: [40, 8],
  children_num: 1,
  budget: 300,
  nights: 2,
  pool: true,
  spa: true,
  pet_friendly: false,
  lake: true,
  mountain: false,
  sport: false,
};

const place: LocationFeatures = {
  location_id: 1,
  children: true,
  breakfast: true,
  lunch: false,
  dinner: true,
  price: 250,
  has_pool: true,
  has_spa: false,
  animals: false,
  near_lake: true,
  near_mountains: true,
  has_sport: false,
  family_rating: 2,
  outdoor_rating: 3,
  food_rating: 4,
  leisure_rating: 1,
  service_rating: 2.5,
  user_score: 3.5,
};

const traveller = (overrides: Parameters<typeof userType>[0] = {}, changes: Partial<UserProfile> = {}): SimulatedUser => ({
  profile: { ...profile, ...changes },
  type: userType({ budget_tolerance: 0, facilities_tolerance: 0, environment_tolerance: 0, family_tolerance: 1, ...overrides }),
});

describe('sampleUser', () => {
  const random = new Random(11);
  const users = Array.from({ length: 2000 }, () => sampleUser(userTypes, random));

  it("draws every field within its type's ranges, children being the minors", () => {
    for (const { profile: user, type } of users) {
      expect(user.people_num).toBeGreaterThanOrEqual(type.people_min);
      expect(user.people_num).toBeLessThanOrEqual(type.people_max);
      expect(user.people_age).toHaveLength(user.people_num);
      for (const age of user.people_age) {
        expect(age).toBeGreaterThanOrEqual(type.age_min);
        expect(age).toBeLessThanOrEqual(type.age_max);
      }
      expect(user.children_num).toBe(user.people_age.filter((age) => age < type.minor_age).length);
      expect(user.budget).toBeGreaterThanOrEqual(type.budget_min);
      expect(user.budget).toBeLessThanOrEqual(type.budget_max);
      expect(Number.isInteger(user.nights)).toBe(true);
    }
  });

  it('draws types in proportion to meta_dist', () => {
    const total = userTypes.reduce((sum, type) => sum + type.meta_dist, 0);
    for (const type of userTypes) {
      const share = users.filter((user) => user.type === type).length / users.length;
      expect(share, type.meta_comment).toBeCloseTo(type.meta_dist / total, 1);
    }
  });
});

describe('the user model', () => {
  it('accepts a location within budget, and up to the budget tolerance above it', () => {
    expect(acceptable(traveller(), place)).toBe(true);
    expect(acceptable(traveller(), { ...place, price: 301 })).toBe(false);
    expect(acceptable(traveller({ budget_tolerance: 0.1 }), { ...place, price: 330 })).toBe(true);
  });

  it('asks a family rating of family_tolerance when children travel', () => {
    expect(acceptable(traveller(), { ...place, family_rating: 0.9 })).toBe(false);
    expect(acceptable(traveller({}, { children_num: 0, people_age: [40, 38] }), { ...place, family_rating: 0.9 })).toBe(true);
  });

  it('asks the shares of requested facilities and surroundings to reach their tolerances', () => {
    // Pool and spa requested, only the pool there: half.
    expect(acceptable(traveller({ facilities_tolerance: 0.5 }), place)).toBe(true);
    expect(acceptable(traveller({ facilities_tolerance: 0.6 }), place)).toBe(false);
    expect(acceptable(traveller({ environment_tolerance: 1 }), { ...place, near_lake: false })).toBe(false);
    // Nothing requested counts as fully met.
    expect(acceptable(traveller({ environment_tolerance: 1 }, { lake: false }), { ...place, near_lake: false })).toBe(true);
  });

  it('weighs ratings, met wishes and the user score into the appeal', () => {
    const weighted = traveller({ weight_score_facilities: 2, weight_score_envirnonment: 0.5, weight_score_users: 3, weight_pool: 1.5 });
    // Facilities: family 2 + service 2.5 + pool 1.5; surroundings: 3 + 4 + 1 + lake 1; users: 3.5.
    expect(appeal(weighted, place)).toBeCloseTo(2 * 6 + 0.5 * 9 + 3 * 3.5, 12);
  });

  it('picks nothing when it ignores the results or none is acceptable', () => {
    const shown = [1, 2, 3];
    expect(pick(shown, traveller({ ignore_tolerance: 0 }), catalogue, new Random(1))).toBe(-1);
    expect(pick(shown, traveller({ ignore_tolerance: 1 }, { budget: 1 }), catalogue, new Random(1))).toBe(-1);
  });

  it('picks the most appealing acceptable result, or one in proportion to appeal', () => {
    const user = traveller({ ignore_tolerance: 1, exploration_tolerance: 1 }, { budget: 5000, children_num: 0 });
    const shown = locations.slice(40, 50).map((location) => location.location_id);
    const best = Math.max(...locations.slice(40, 50).map((location) => appeal(user, location)));
    const chosen = pick(shown, user, catalogue, new Random(1));
    expect(appeal(user, locations[chosen - 1]!)).toBe(best);

    const proportional = { ...user, type: { ...user.type, exploration_tolerance: 0 } };
    const random = new Random(2);
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i += 1) {
      const id = pick(shown, proportional, catalogue, random);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const total = locations.slice(40, 50).reduce((sum, location) => sum + appeal(user, location), 0);
    for (const location of locations.slice(40, 50)) {
      expect((counts.get(location.location_id) ?? 0) / 20_000).toBeCloseTo(appeal(user, location) / total, 1);
    }
  });
});

describe('trainingExamples', () => {
  it('labels the pick positive and the other shown results negative', () => {
    const examples = trainingExamples(
      [
        { user: profile, shown: [3, 1, 2], picked: 1 },
        { user: profile, shown: [4, 5], picked: -1 },
      ],
      catalogue,
    );
    expect(examples.map((example) => [example.location.location_id, example.label])).toEqual([
      [3, 0],
      [1, 1],
      [2, 0],
      [4, 0],
      [5, 0],
    ]);
    expect(examples[0]!.user).toBe(profile);
  });

  it('rejects a pick that was not shown and an unknown location', () => {
    expect(() => trainingExamples([{ user: profile, shown: [1, 2], picked: 3 }], catalogue)).toThrow(/not among the shown/);
    expect(() => trainingExamples([{ user: profile, shown: [999], picked: -1 }], catalogue)).toThrow(/999 is not in the catalogue/);
  });
});

describe('evaluateRanking', () => {
  const random = new Random(5);
  const users = Array.from({ length: 300 }, () => sampleUser(userTypes, random));
  const relevance = (user: SimulatedUser, location: LocationFeatures) => (acceptable(user, location) ? appeal(user, location) : 0);
  const byRelevance = (direction: 1 | -1) => (user: UserProfile) => {
    const simulated = users.find((candidate) => candidate.profile === user)!;
    return [...locations]
      .sort((a, b) => direction * (relevance(simulated, b) - relevance(simulated, a)))
      .map((location) => location.location_id);
  };

  it('scores the ideal ranking 1 and a random one far lower', () => {
    const ideal = evaluateRanking(byRelevance(1), users, catalogue);
    expect(ideal).toEqual({ hit_rate: 1, ndcg: expect.closeTo(1, 12), users: expect.any(Number) });
    expect(ideal.users).toBeGreaterThan(280);
    const random = evaluateRanking(randomRanking(new Random(6), catalogue), users, catalogue);
    expect(random.ndcg).toBeGreaterThan(0.2);
    expect(random.ndcg).toBeLessThan(0.45);
    expect(evaluateRanking(byRelevance(-1), users, catalogue).ndcg).toBeLessThan(random.ndcg);
  });
});
