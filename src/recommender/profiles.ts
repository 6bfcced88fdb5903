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
  return {
    location_id: row.location_id,
    children: row.children,
    breakfast: row.breakfast,
    lunch: row.lunch,
    dinner: row.dinner,
    price: row.price,
    has_pool: row.has_pool,
    has_spa: row.has_spa,
    animals: row.animals,
    near_lake: row.near_lake,
    near_mountains: row.near_mountains,
    has_sport: row.has_sport,
    family_rating: row.family_rating,
    outdoor_rating: row.outdoor_rating,
    food_rating: row.food_rating,
    leisure_rating: row.leisure_rating,
    service_rating: row.service_rating,
    user_score: row.user_score,
  };
}
