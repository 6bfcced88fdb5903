import { locationValues } from '../db/locations.js';
import type { LocationRow, UserDataRow } from '../db/schema.js';
import type { LocationFeatures, UserProfile } from '../ml/types.js';

/** The ML view of a stored search. */
export function userProfile(row: UserDataRow): UserProfile {
  return {
    people_num: row.people_num,
    people_age: row.people_age,
    children_num: row.children_num,
    budget: row.budget,
    nights: row.nights,
    pool: row.pool,
    spa: row.spa,
    pet_friendly: row.pet_friendly,
    lake: row.lake,
    mountain: row.mountain,
    sport: row.sport,
  };
}

/** The ML view of a stored location. */
export function locationFeatures(row: LocationRow): LocationFeatures {
  return { location_id: row.location_id, ...locationValues(row) };
}
