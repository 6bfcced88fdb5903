import { locationValues } from '../db/locations.js';
import type { LocationRow } from '../db/schema.js';
import type { SchemaLocationData } from '../generated/api.js';

export function toLocation(row: LocationRow): SchemaLocationData {
  return { location_id: row.location_id, ...locationValues(row) };
}
