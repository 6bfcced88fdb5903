import { buildCatalogue, generateLocations } from '../../src/ml/catalogue.js';
import { initialModel, rankCatalogue } from '../../src/ml/model.js';
import { Random } from '../../src/ml/random.js';
import { simulateSearches, trainingExamples, type LabelledSearch } from '../../src/ml/simulation.js';
import { loadMlprodTables, type UserType } from '../../src/ml/tables.js';
import type { TrainingExample } from '../../src/ml/types.js';

/** The repository's tables and the service's catalogue (seed 42). */
export const { locationTypes, userTypes } = await loadMlprodTables();
export const locations = generateLocations(locationTypes);
export const catalogue = buildCatalogue(locations);

/** Searches ranked by the initial model, top 10 with two exploration slots, as the service starts out. */
export function initialSearches(count: number, seed: number): LabelledSearch[] {
  const model = initialModel();
  const exploration = new Random(seed + 1);
  const show = (user: Parameters<typeof rankCatalogue>[1]) =>
    rankCatalogue(model, user, catalogue, 10, { explorationSlots: 2, random: exploration }).map((result) => result.location_id);
  return simulateSearches(count, userTypes, catalogue, show, new Random(seed));
}

export function initialExamples(count: number, seed: number): TrainingExample[] {
  return trainingExamples(initialSearches(count, seed), catalogue);
}

/** A user type with every number of the first row of user.tsv, but for `overrides`. */
export function userType(overrides: Partial<UserType> = {}): UserType {
  const [first] = userTypes;
  if (first === undefined) throw new Error('user.tsv has no rows');
  return { ...first, ...overrides };
}
