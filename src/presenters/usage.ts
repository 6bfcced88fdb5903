import type { UsageRow } from '../db/usage.js';
import type { SchemaUsageRecord } from '../generated/api.js';

export function toUsageRecord(row: UsageRow): SchemaUsageRecord {
  return {
    key_id: row.key_id,
    owner: row.owner,
    model: row.model,
    day: row.day,
    requests: Number(row.requests),
    prompt_tokens: Number(row.prompt_tokens),
    completion_tokens: Number(row.completion_tokens),
    total_tokens: Number(row.total_tokens),
    errors: Number(row.errors),
    estimated: row.estimated,
  };
}
