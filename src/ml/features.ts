import { emptyLocationVector, locationVector, readLocation, type Catalogue, type LocationVector } from './catalogue.js';
import type { TrainingExample, UserProfile } from './types.js';

/** The user's side as numbers, computed once per search. */
export interface UserVector {
  people_num: number;
  children_num: number;
  has_children: number;
  mean_age: number;
  budget: number;
  nights: number;
  pool: number;
  spa: number;
  pet_friendly: number;
  lake: number;
  mountain: number;
  sport: number;
  facilities_requested: number;
  surroundings_requested: number;
}

export function userVector(user: UserProfile): UserVector {
  const wish = (wanted: boolean) => (wanted ? 1 : 0);
  const ages = user.people_age;
  return {
    people_num: user.people_num,
    children_num: user.children_num,
    has_children: user.children_num > 0 ? 1 : 0,
    mean_age: ages.length === 0 ? 0 : ages.reduce((sum, age) => sum + age, 0) / ages.length,
    budget: user.budget,
    nights: user.nights,
    pool: wish(user.pool),
    spa: wish(user.spa),
    pet_friendly: wish(user.pet_friendly),
    lake: wish(user.lake),
    mountain: wish(user.mountain),
    sport: wish(user.sport),
    facilities_requested: wish(user.pool) + wish(user.spa) + wish(user.pet_friendly) + wish(user.sport),
    surroundings_requested: wish(user.lake) + wish(user.mountain),
  };
}

interface Feature {
  readonly name: string;
  value(user: UserVector, location: LocationVector): number;
}

/** A price this many times the budget is as bad as any higher one; the cap keeps scaling useful. */
const PRICE_TO_BUDGET_CAP = 4;

const withinBudget = (u: UserVector, l: LocationVector) => (l.price <= u.budget ? 1 : 0);
const ratingTotal = (l: LocationVector) =>
  l.family_rating + l.outdoor_rating + l.food_rating + l.leisure_rating + l.service_rating;
const facilitiesMatched = (u: UserVector, l: LocationVector) =>
  u.pool * l.has_pool + u.spa * l.has_spa + u.pet_friendly * l.animals + u.sport * l.has_sport;
const surroundingsMatched = (u: UserVector, l: LocationVector) => u.lake * l.near_lake + u.mountain * l.near_mountains;
/** Share of what was asked for that is there; asking for nothing is fully satisfied. */
const share = (matched: number, requested: number) => (requested === 0 ? 1 : matched / requested);

/**
 * The features of a (user, location) pair, raw (the model scales them): both sides' fields, then
 * the interactions a traveller's choice plainly depends on, which a linear model cannot form
 * itself: the price against the budget, each wish met or missed, family suitability when children
 * travel, and the quality of places within the budget. That last one matters: the places shown
 * for feedback are often well rated but too expensive, and without it their rejection reads as
 * "ratings do not matter".
 */
const FEATURES = [
  { name: 'user.people_num', value: (u) => u.people_num },
  { name: 'user.children_num', value: (u) => u.children_num },
  { name: 'user.has_children', value: (u) => u.has_children },
  { name: 'user.mean_age', value: (u) => u.mean_age },
  { name: 'user.budget', value: (u) => u.budget },
  { name: 'user.nights', value: (u) => u.nights },
  { name: 'user.wants_pool', value: (u) => u.pool },
  { name: 'user.wants_spa', value: (u) => u.spa },
  { name: 'user.wants_pet_friendly', value: (u) => u.pet_friendly },
  { name: 'user.wants_lake', value: (u) => u.lake },
  { name: 'user.wants_mountain', value: (u) => u.mountain },
  { name: 'user.wants_sport', value: (u) => u.sport },

  { name: 'location.children', value: (_, l) => l.children },
  { name: 'location.breakfast', value: (_, l) => l.breakfast },
  { name: 'location.lunch', value: (_, l) => l.lunch },
  { name: 'location.dinner', value: (_, l) => l.dinner },
  { name: 'location.has_pool', value: (_, l) => l.has_pool },
  { name: 'location.has_spa', value: (_, l) => l.has_spa },
  { name: 'location.animals', value: (_, l) => l.animals },
  { name: 'location.near_lake', value: (_, l) => l.near_lake },
  { name: 'location.near_mountains', value: (_, l) => l.near_mountains },
  { name: 'location.has_sport', value: (_, l) => l.has_sport },
  { name: 'location.price', value: (_, l) => l.price },
  { name: 'location.family_rating', value: (_, l) => l.family_rating },
  { name: 'location.outdoor_rating', value: (_, l) => l.outdoor_rating },
  { name: 'location.food_rating', value: (_, l) => l.food_rating },
  { name: 'location.leisure_rating', value: (_, l) => l.leisure_rating },
  { name: 'location.service_rating', value: (_, l) => l.service_rating },
  { name: 'location.user_score', value: (_, l) => l.user_score },
  { name: 'location.rating_total', value: (_, l) => ratingTotal(l) },

  {
    name: 'fit.price_to_budget',
    value: (u, l) => (u.budget > 0 ? Math.min(l.price / u.budget, PRICE_TO_BUDGET_CAP) : PRICE_TO_BUDGET_CAP),
  },
  { name: 'fit.within_budget', value: withinBudget },
  { name: 'fit.affordable_rating_total', value: (u, l) => withinBudget(u, l) * ratingTotal(l) },
  { name: 'fit.affordable_user_score', value: (u, l) => withinBudget(u, l) * l.user_score },
  { name: 'fit.pool_matched', value: (u, l) => u.pool * l.has_pool },
  { name: 'fit.pool_missing', value: (u, l) => u.pool * (1 - l.has_pool) },
  { name: 'fit.spa_matched', value: (u, l) => u.spa * l.has_spa },
  { name: 'fit.spa_missing', value: (u, l) => u.spa * (1 - l.has_spa) },
  { name: 'fit.pet_friendly_matched', value: (u, l) => u.pet_friendly * l.animals },
  { name: 'fit.pet_friendly_missing', value: (u, l) => u.pet_friendly * (1 - l.animals) },
  { name: 'fit.sport_matched', value: (u, l) => u.sport * l.has_sport },
  { name: 'fit.sport_missing', value: (u, l) => u.sport * (1 - l.has_sport) },
  { name: 'fit.lake_matched', value: (u, l) => u.lake * l.near_lake },
  { name: 'fit.lake_missing', value: (u, l) => u.lake * (1 - l.near_lake) },
  { name: 'fit.mountain_matched', value: (u, l) => u.mountain * l.near_mountains },
  { name: 'fit.mountain_missing', value: (u, l) => u.mountain * (1 - l.near_mountains) },
  { name: 'fit.wishes_matched', value: (u, l) => facilitiesMatched(u, l) + surroundingsMatched(u, l) },
  { name: 'fit.facilities_share', value: (u, l) => share(facilitiesMatched(u, l), u.facilities_requested) },
  { name: 'fit.surroundings_share', value: (u, l) => share(surroundingsMatched(u, l), u.surroundings_requested) },
  { name: 'fit.children_family_rating', value: (u, l) => u.has_children * l.family_rating },
  { name: 'fit.children_welcome', value: (u, l) => u.has_children * l.children },
] as const satisfies readonly Feature[];

export type FeatureName = (typeof FEATURES)[number]['name'];

export const FEATURE_NAMES: readonly FeatureName[] = FEATURES.map((feature) => feature.name);
export const FEATURE_COUNT = FEATURES.length;

/** Writes the features of (user, location) into `out` from `offset`, in FEATURE_NAMES order. */
export function fillFeatures(user: UserVector, location: LocationVector, out: Float64Array, offset = 0): void {
  let position = offset;
  for (const feature of FEATURES) out[position++] = feature.value(user, location);
}

/** Features of one user against every location: a row-major matrix, catalogue.size × FEATURE_COUNT. */
export function catalogueFeatures(user: UserProfile, catalogue: Catalogue): Float64Array {
  const matrix = new Float64Array(catalogue.size * FEATURE_COUNT);
  const userSide = userVector(user);
  const location = emptyLocationVector();
  for (let i = 0; i < catalogue.size; i += 1) {
    fillFeatures(userSide, readLocation(catalogue, i, location), matrix, i * FEATURE_COUNT);
  }
  return matrix;
}

/** Features of each example: a row-major matrix, examples.length × FEATURE_COUNT. */
export function exampleFeatures(examples: readonly TrainingExample[]): Float64Array {
  const matrix = new Float64Array(examples.length * FEATURE_COUNT);
  examples.forEach((example, i) => {
    fillFeatures(userVector(example.user), locationVector(example.location), matrix, i * FEATURE_COUNT);
  });
  return matrix;
}
