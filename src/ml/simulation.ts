import type { Catalogue } from './catalogue.js';
import { hitRateAtK, ndcgAtK, type RankedQuery } from './metrics.js';
import type { Random } from './random.js';
import type { UserType } from './tables.js';
import type { LocationFeatures, TrainingExample, UserProfile } from './types.js';

/**
 * Seed 003's synthetic traffic: travellers drawn from the user types of user.tsv, and the model of
 * how such a traveller picks among the results shown. It produces training data (which results
 * were picked) and measures ranking quality offline against the travellers' hidden preferences.
 */

/** A simulated traveller: the search the service sees, and the type whose tastes decide the pick. */
export interface SimulatedUser {
  profile: UserProfile;
  type: UserType;
}

/** One search as the service records it: what was shown, best first, and the pick (-1: none). */
export interface LabelledSearch {
  user: UserProfile;
  shown: readonly number[];
  picked: number;
}

/** Ranks the catalogue for a search: location ids, best first. */
export type Ranker = (user: UserProfile) => number[];

export function sampleUser(userTypes: readonly UserType[], random: Random): SimulatedUser {
  const type = pickByShare(userTypes, random);
  const people = random.integer(type.people_min, type.people_max);
  const ages = Array.from({ length: people }, () => random.integer(type.age_min, type.age_max));
  return {
    type,
    profile: {
      people_num: people,
      people_age: ages,
      children_num: ages.filter((age) => age < type.minor_age).length,
      budget: random.uniform(type.budget_min, type.budget_max),
      nights: random.integer(type.nights_min, type.nights_max),
      spa: random.bernoulli(type.spa_thr),
      pool: random.bernoulli(type.pool_thr),
      pet_friendly: random.bernoulli(type.pet_friendly_thr),
      lake: random.bernoulli(type.lakes_thr),
      mountain: random.bernoulli(type.mountains_thr),
      sport: random.bernoulli(type.sport_thr),
    },
  };
}

function pickByShare(userTypes: readonly UserType[], random: Random): UserType {
  const total = userTypes.reduce((sum, type) => sum + type.meta_dist, 0);
  if (!(total > 0)) throw new Error('user types need a positive total meta_dist');
  let remaining = random.uniform(0, total);
  for (const type of userTypes) {
    remaining -= type.meta_dist;
    if (remaining < 0) return type;
  }
  // Only reached through floating-point rounding at the very end of the range.
  return userTypes.findLast((type) => type.meta_dist > 0) as UserType;
}

/** What a traveller weighs: each wish, whether it was made, and its weight in the appeal. */
function wishes(user: SimulatedUser, location: LocationFeatures) {
  const { profile: p, type: t } = user;
  return {
    facilities: [
      { wanted: p.pool, offered: location.has_pool, weight: t.weight_pool },
      { wanted: p.spa, offered: location.has_spa, weight: t.weight_spa },
      { wanted: p.pet_friendly, offered: location.animals, weight: t.weight_pet },
      { wanted: p.sport, offered: location.has_sport, weight: t.weight_sport },
    ],
    surroundings: [
      { wanted: p.lake, offered: location.near_lake, weight: t.weight_lake },
      { wanted: p.mountain, offered: location.near_mountains, weight: t.weight_mouintains },
    ],
  };
}

type Wish = { wanted: boolean; offered: boolean; weight: number };

/** Share of the wishes made that the location meets; with no wish made, 1. */
function metShare(list: readonly Wish[]): number {
  const wanted = list.filter((wish) => wish.wanted);
  return wanted.length === 0 ? 1 : wanted.filter((wish) => wish.offered).length / wanted.length;
}

/** Weighted count of the wishes made that the location meets. */
function metWeight(list: readonly Wish[]): number {
  return list.reduce((sum, wish) => sum + (wish.wanted && wish.offered ? wish.weight : 0), 0);
}

/**
 * Whether the traveller would consider the location at all. The budget is read as the most the
 * traveller pays for what `price` measures, stretched by budget_tolerance: price <= budget × (1 +
 * budget_tolerance). The shares of requested facilities and surroundings met must reach the
 * type's tolerances, and with children on board the family rating must reach family_tolerance.
 */
export function acceptable(user: SimulatedUser, location: LocationFeatures): boolean {
  const { profile, type } = user;
  const { facilities, surroundings } = wishes(user, location);
  return (
    location.price <= profile.budget * (1 + type.budget_tolerance) &&
    metShare(facilities) >= type.facilities_tolerance &&
    metShare(surroundings) >= type.environment_tolerance &&
    (profile.children_num === 0 || location.family_rating >= type.family_tolerance)
  );
}

/**
 * How much the traveller likes a location (meaningful for acceptable ones): facility-side ratings
 * and met facility wishes, surroundings-side ratings and met surroundings wishes, and other
 * users' score, each group weighted by the type. A met wish counts its weight (weight_pool, ...).
 */
export function appeal(user: SimulatedUser, location: LocationFeatures): number {
  const { type } = user;
  const { facilities, surroundings } = wishes(user, location);
  return (
    type.weight_score_facilities * (location.family_rating + location.service_rating + metWeight(facilities)) +
    type.weight_score_envirnonment *
      (location.outdoor_rating + location.food_rating + location.leisure_rating + metWeight(surroundings)) +
    type.weight_score_users * location.user_score
  );
}

/**
 * The traveller's choice among the shown locations: with probability ignore_tolerance they pick
 * at all; then, among the acceptable ones, with probability exploration_tolerance the most
 * appealing, otherwise one drawn in proportion to appeal. -1 when they pick nothing.
 */
export function pick(shown: readonly number[], user: SimulatedUser, catalogue: Catalogue, random: Random): number {
  if (!random.bernoulli(user.type.ignore_tolerance)) return -1;
  const candidates = shown.map((id) => locationById(catalogue, id)).filter((location) => acceptable(user, location));
  if (candidates.length === 0) return -1;
  const appeals = candidates.map((location) => appeal(user, location));
  const chosen = random.bernoulli(user.type.exploration_tolerance) ? argmax(appeals) : drawProportionally(appeals, random);
  return (candidates[chosen] as LocationFeatures).location_id;
}

function argmax(values: readonly number[]): number {
  return values.reduce((best, value, index) => (value > (values[best] as number) ? index : best), 0);
}

function drawProportionally(weights: readonly number[], random: Random): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (!(total > 0)) return random.integer(0, weights.length - 1);
  let remaining = random.uniform(0, total);
  for (let index = 0; index < weights.length; index += 1) {
    remaining -= weights[index] as number;
    if (remaining < 0) return index;
  }
  return weights.length - 1;
}

/** Simulates `count` searches: a fresh traveller each, shown the ranker's results, picking or not. */
export function simulateSearches(
  count: number,
  userTypes: readonly UserType[],
  catalogue: Catalogue,
  show: Ranker,
  random: Random,
): LabelledSearch[] {
  return Array.from({ length: count }, () => {
    const user = sampleUser(userTypes, random);
    const shown = show(user.profile);
    return { user: user.profile, shown, picked: pick(shown, user, catalogue, random) };
  });
}

/**
 * Training examples as in the seed: in a search with a pick, the picked location is a positive and
 * every other shown location a negative; a search without a pick gives negatives only. Each search
 * is one group (a list the traveller chose from).
 */
export function trainingExamples(searches: readonly LabelledSearch[], catalogue: Catalogue): TrainingExample[] {
  return searches.flatMap((search, group) => {
    if (search.picked !== -1 && !search.shown.includes(search.picked)) {
      throw new Error(`picked location ${search.picked} is not among the shown locations`);
    }
    return search.shown.map((id): TrainingExample => ({
      user: search.user,
      location: locationById(catalogue, id),
      label: id === search.picked ? 1 : 0,
      group,
    }));
  });
}

export interface RankingQuality {
  /** Share of travellers with an acceptable location in the top k. */
  hit_rate: number;
  /** NDCG@k with appeal as the relevance of acceptable locations, 0 for the others. */
  ndcg: number;
  /** Travellers evaluated: those for whom the catalogue holds any acceptable location. */
  users: number;
}

/** Ranking quality against the travellers' hidden preferences, the user model's ground truth. */
export function evaluateRanking(rank: Ranker, users: readonly SimulatedUser[], catalogue: Catalogue, k = 10): RankingQuality {
  const queries = users.map((user): RankedQuery => {
    const relevance = new Map(catalogue.locations.map((location) => [location.location_id, relevanceFor(user, location)]));
    return {
      ranked: rank(user.profile).slice(0, k).map((id) => relevance.get(id) ?? 0),
      candidates: [...relevance.values()],
    };
  });
  return {
    hit_rate: hitRateAtK(queries, k),
    ndcg: ndcgAtK(queries, k),
    users: queries.filter((query) => query.candidates.some((relevance) => relevance > 0)).length,
  };
}

function relevanceFor(user: SimulatedUser, location: LocationFeatures): number {
  return acceptable(user, location) ? appeal(user, location) : 0;
}

/** The baseline: the whole catalogue in random order. */
export function randomRanking(random: Random, catalogue: Catalogue): Ranker {
  return () => random.shuffle(Array.from(catalogue.ids));
}

function locationById(catalogue: Catalogue, locationId: number): LocationFeatures {
  const index = catalogue.indexOf(locationId);
  const location = index === undefined ? undefined : catalogue.locations[index];
  if (location === undefined) throw new Error(`location ${locationId} is not in the catalogue`);
  return location;
}
