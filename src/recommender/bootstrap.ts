import type { Logger } from 'pino';
import type { LocationRepository } from '../db/locations.js';
import type { ModelRepository } from '../db/models.js';
import { generateLocations } from '../ml/catalogue.js';
import { initialModel } from '../ml/model.js';
import { loadMlprodTables } from '../ml/tables.js';

/** Seed for the generated catalogue: every fresh install gets the same locations. */
export const CATALOGUE_SEED = 42;

/**
 * First start: an empty catalogue is generated from location.tsv (deterministically), and model
 * version 1 (hand-set, scored by the same code as trained models) becomes active. Both steps are
 * no-ops afterwards and safe when several processes start at once.
 */
export async function bootstrapRecommender(locations: LocationRepository, models: ModelRepository, log: Logger): Promise<void> {
  const { locationTypes } = await loadMlprodTables();
  const generated = generateLocations(locationTypes, CATALOGUE_SEED);
  if (await locations.seedIfEmpty(generated)) log.info({ locations: generated.length }, 'generated the location catalogue');
  const artifact = initialModel();
  if (await models.ensureInitial({ kind: 'hand-set', artifact: { ...artifact }, metrics: null, trainingTaskId: null, labelsUsed: 0 })) {
    log.info('created model version 1 (hand-set)');
  }
}
