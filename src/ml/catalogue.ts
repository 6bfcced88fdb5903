import { propertyNames, schemaFacts } from '../generated/constants.js';
import { Random } from './random.js';
import type { LocationType } from './tables.js';
import type { LocationFeatures } from './types.js';

type Facts = typeof schemaFacts.LocationFields;
export type LocationField = keyof Facts;
type BooleanField = { [K in LocationField]: Facts[K] extends { type: 'boolean' } ? K : never }[LocationField];

/** The location fields, in the spec's order (LocationFields); booleans count as 0 and 1. */
const LOCATION_FIELDS: readonly LocationField[] = propertyNames.LocationFields;
export const BOOLEAN_FIELDS = LOCATION_FIELDS.filter((field): field is BooleanField => schemaFacts.LocationFields[field].type === 'boolean');

/** A location's fields as numbers, booleans as 0/1: what features are computed from. */
export type LocationVector = Record<LocationField, number>;

/**
 * The synthetic catalogue of seed 003: for each location type, `meta_n` locations whose booleans
 * are true with the type's threshold probability and whose numbers are uniform in the type's
 * [min, max]. Ids count from 1 in generation order; the same seed gives the same catalogue.
 */
export function generateLocations(locationTypes: readonly LocationType[], seed = 42): LocationFeatures[] {
  const random = new Random(seed);
  const locations: LocationFeatures[] = [];
  for (const type of locationTypes) {
    for (let n = 0; n < type.meta_n; n += 1) locations.push(generateLocation(type, locations.length + 1, random));
  }
  return locations;
}

// Property order is draw order: keep it stable, or every seed's catalogue changes.
function generateLocation(type: LocationType, locationId: number, random: Random): LocationFeatures {
  const rating = (min: number, max: number) => round(random.uniform(min, max), 3);
  return {
    location_id: locationId,
    children: random.bernoulli(type.threshold_child),
    breakfast: random.bernoulli(type.threshold_breakfast),
    lunch: random.bernoulli(type.threshold_lunch),
    dinner: random.bernoulli(type.threshold_dinner),
    price: round(random.uniform(type.price_min, type.price_max), 2),
    has_pool: random.bernoulli(type.threshold_pool),
    has_spa: random.bernoulli(type.threshold_spa),
    animals: random.bernoulli(type.threshold_animals),
    near_lake: random.bernoulli(type.threshold_lake),
    near_mountains: random.bernoulli(type.threshold_mountain),
    has_sport: random.bernoulli(type.threshold_sport),
    family_rating: rating(type.family_min, type.family_max),
    outdoor_rating: rating(type.outdoor_min, type.outdoor_max),
    food_rating: rating(type.food_min, type.food_max),
    leisure_rating: rating(type.leisure_min, type.leisure_max),
    service_rating: rating(type.service_min, type.service_max),
    user_score: rating(type.score_min, type.score_max),
  };
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/**
 * The catalogue in columns, built once: scoring a user against every location is then one pass
 * over typed arrays, with no object per location. `locations` keeps the original records.
 */
export interface Catalogue {
  readonly size: number;
  readonly ids: Int32Array;
  /** One column per field, booleans as 0/1; index i is the location `ids[i]`. */
  readonly columns: Readonly<Record<LocationField, Float64Array>>;
  readonly locations: readonly LocationFeatures[];
  /** The position of a location id in the columns, or undefined when it is not in the catalogue. */
  indexOf(locationId: number): number | undefined;
}

export function buildCatalogue(locations: readonly LocationFeatures[]): Catalogue {
  const size = locations.length;
  const ids = new Int32Array(size);
  const columns = Object.fromEntries(LOCATION_FIELDS.map((field) => [field, new Float64Array(size)])) as Record<LocationField, Float64Array>;
  const positions = new Map<number, number>();
  locations.forEach((location, index) => {
    if ((location.location_id | 0) !== location.location_id) {
      throw new Error(`location_id ${location.location_id} is not a 32-bit integer`);
    }
    if (positions.has(location.location_id)) throw new Error(`location_id ${location.location_id} appears twice in the catalogue`);
    positions.set(location.location_id, index);
    ids[index] = location.location_id;
    for (const field of LOCATION_FIELDS) columns[field][index] = Number(location[field]);
  });
  return { size, ids, columns, locations, indexOf: (locationId) => positions.get(locationId) };
}

/**
 * Copies the location at `index` of the catalogue into `into` (reused across a pass) and returns
 * it. Field by field rather than in a loop over names: this is the hot path of scoring, and
 * fixed property names keep it several times faster.
 */
export function readLocation({ columns: c }: Catalogue, index: number, into: LocationVector): LocationVector {
  into.children = c.children[index]!;
  into.breakfast = c.breakfast[index]!;
  into.lunch = c.lunch[index]!;
  into.dinner = c.dinner[index]!;
  into.has_pool = c.has_pool[index]!;
  into.has_spa = c.has_spa[index]!;
  into.animals = c.animals[index]!;
  into.near_lake = c.near_lake[index]!;
  into.near_mountains = c.near_mountains[index]!;
  into.has_sport = c.has_sport[index]!;
  into.price = c.price[index]!;
  into.family_rating = c.family_rating[index]!;
  into.outdoor_rating = c.outdoor_rating[index]!;
  into.food_rating = c.food_rating[index]!;
  into.leisure_rating = c.leisure_rating[index]!;
  into.service_rating = c.service_rating[index]!;
  into.user_score = c.user_score[index]!;
  return into;
}

/** The location as numbers, booleans as 0/1. */
export function locationVector(location: LocationFeatures): LocationVector {
  return Object.fromEntries(LOCATION_FIELDS.map((field) => [field, Number(location[field])])) as LocationVector;
}

/** A vector to fill with `readLocation`. */
export function emptyLocationVector(): LocationVector {
  return Object.fromEntries(LOCATION_FIELDS.map((field) => [field, 0])) as LocationVector;
}
