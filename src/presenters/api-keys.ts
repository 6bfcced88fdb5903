import { keyStatus } from '../auth/api-key-service.js';
import type { ApiKeyRow } from '../db/schema.js';
import type { KeyPeriodUsage } from '../gateway/key-usage.js';
import type { SchemaApiKey } from '../generated/api.js';

/** A key as the API shows it, with its usage this period: never the secret or its hash. */
export function toApiKey(row: ApiKeyRow, usage: KeyPeriodUsage): SchemaApiKey {
  return {
    key_id: row.id,
    name: row.name,
    owner: row.owner,
    scopes: row.scopes,
    token_hint: row.token_hint,
    rate_limit_per_minute: row.rate_limit_per_minute,
    models: row.models,
    token_budget: row.token_budget === null ? null : Number(row.token_budget),
    budget_period: row.token_budget === null ? null : row.budget_period,
    tokens_per_minute: row.tokens_per_minute,
    usage: { period: usage.period, period_start: usage.start.toISOString(), resets_at: usage.end.toISOString(), total_tokens: usage.totalTokens },
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    expires_at: row.expires_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    status: keyStatus(row),
  };
}
