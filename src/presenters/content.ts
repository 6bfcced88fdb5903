import type { StoredResult } from '../db/results.js';
import type { UserDataRow } from '../db/schema.js';
import type { SchemaResultRecord, SchemaStoredUserData } from '../generated/api.js';

export function toStoredUser(row: UserDataRow): SchemaStoredUserData {
  const { user_id, owner, created_at, ...fields } = row;
  return { user_id, owner, created_at: created_at.toISOString(), ...fields };
}

export function toResultRecord(result: StoredResult): SchemaResultRecord {
  return {
    result_id: result.resultId,
    task_id: result.taskId,
    location_id: result.locationId,
    score: result.score,
    rank: result.rank,
    shown: result.shown,
    selected: result.selected,
  };
}
