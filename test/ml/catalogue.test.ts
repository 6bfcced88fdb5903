import { describe, expect, it } from 'vitest';
import {
  BOOLEAN_FIELDS,
  buildCatalogue,
  emptyLocationVector,
  generateLocations,
  locationVector,
  readLocation,
} from '../../src/ml/catalogue.js';
import type { LocationType } from '../../src/ml/tables.js';
import type { LocationFeatures } from '../../src/ml/types.js';
import { catalogue, locations, locationTypes } from './fixtures.js';

/** Each generated location with the type it was generated from (types generate in table order). */
const typed = locationTypes.flatMap((type) => Array.from({ length: type.meta_n }, () => type));
const withType = locations.map((location, index) => ({ location, type: typed[index] as LocationType }));

const decimals = (value: number) => (String(value).split('.')[1] ?? '').length;

const THRESHOLD_OF: Record<(typeof BOOLEAN_FIELDS)[number], keyof LocationType> = {
  children: 'threshold_child',
  breakfast: 'threshold_breakfast',
  lunch: 'threshold_lunch',
  dinner: 'threshold_dinner',
  has_pool: 'threshold_pool',
  has_spa: 'threshold_spa',
  animals: 'threshold_animals',
  near_lake: 'threshold_lake',
  near_mountains: 'threshold_mountain',
  has_sport: 'threshold_sport',
};

const RANGE_OF: [keyof LocationFeatures, string][] = [
  ['price', 'price'],
  ['family_rating', 'family'],
  ['outdoor_rating', 'outdoor'],
  ['food_rating', 'food'],
  ['leisure_rating', 'leisure'],
  ['service_rating', 'service'],
  ['user_score', 'score'],
];

describe('generateLocations', () => {
  it('generates meta_n locations per type, 210 in all, with ids from 1', () => {
    expect(locations).toHaveLength(210);
    expect(locations.map((location) => location.location_id)).toEqual(Array.from({ length: 210 }, (_, i) => i + 1));
  });

  it('is deterministic for a seed', () => {
    expect(generateLocations(locationTypes)).toEqual(locations);
    expect(generateLocations(locationTypes, 42)).toEqual(locations);
    expect(generateLocations(locationTypes, 43)).not.toEqual(locations);
  });

  it("draws each number within its type's range, prices to 2 decimals and ratings to 3", () => {
    for (const { location, type } of withType) {
      for (const [field, column] of RANGE_OF) {
        const value = location[field] as number;
        expect(value).toBeGreaterThanOrEqual(type[`${column}_min` as keyof LocationType] as number);
        expect(value).toBeLessThanOrEqual(type[`${column}_max` as keyof LocationType] as number);
        expect(decimals(value)).toBeLessThanOrEqual(field === 'price' ? 2 : 3);
      }
    }
  });

  it("sets each boolean at about its type's threshold", () => {
    for (const field of BOOLEAN_FIELDS) {
      const expected = withType.reduce((sum, { type }) => sum + (type[THRESHOLD_OF[field]] as number), 0);
      const variance = withType.reduce((sum, { type }) => {
        const p = type[THRESHOLD_OF[field]] as number;
        return sum + p * (1 - p);
      }, 0);
      const observed = locations.filter((location) => location[field]).length;
      // Within four standard deviations of the expected count.
      expect(Math.abs(observed - expected), field).toBeLessThanOrEqual(4 * Math.sqrt(variance));
    }
  });
});

describe('buildCatalogue', () => {
  it('holds every field in columns, booleans as 0/1, and finds locations by id', () => {
    expect(catalogue.size).toBe(210);
    const index = catalogue.indexOf(17);
    expect(index).toBe(16);
    const location = locations[16] as LocationFeatures;
    expect(catalogue.ids[16]).toBe(17);
    expect(catalogue.columns.price[16]).toBe(location.price);
    expect(catalogue.columns.has_pool[16]).toBe(location.has_pool ? 1 : 0);
    expect(catalogue.locations[16]).toBe(location);
    expect(catalogue.indexOf(999)).toBeUndefined();
  });

  it('reads back every field of every location', () => {
    const into = emptyLocationVector();
    locations.forEach((location, index) => expect(readLocation(catalogue, index, into)).toEqual(locationVector(location)));
  });

  it('rejects duplicate ids', () => {
    const [first] = locations;
    expect(() => buildCatalogue([first!, first!])).toThrow('location_id 1 appears twice in the catalogue');
  });
});
