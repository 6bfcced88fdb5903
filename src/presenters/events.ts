import type { EventRow } from '../db/schema.js';
import type { SchemaEvent } from '../generated/api.js';

export function toEvent(row: EventRow): SchemaEvent {
  return {
    event_id: row.event_id,
    event_type: row.event_type,
    event_data: row.event_data,
    source: row.source,
    owner: row.owner,
    received_at: row.received_at.toISOString(),
  };
}
