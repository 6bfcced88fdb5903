import { type ApiKeyService, keyStatus } from '../auth/api-key-service.js';
import type { Scope } from '../auth/principal.js';
import type { ApiKeyRow } from '../db/schema.js';
import type { SchemaApiKey } from '../generated/api.js';
import { CURSOR_VALUE, decodeCursor, encodeCursor } from '../http/cursor.js';
import type { Handlers, Reply } from '../http/operations.js';
import { ProblemError } from '../http/problem.js';

/** A key as the API shows it: never the secret or its hash. */
export function toApiKey(row: ApiKeyRow): SchemaApiKey {
  return {
    key_id: row.id,
    name: row.name,
    owner: row.owner,
    scopes: row.scopes as Scope[],
    token_hint: row.token_hint,
    rate_limit_per_minute: row.rate_limit_per_minute,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    expires_at: row.expires_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    status: keyStatus(row),
  };
}

export function apiKeyHandlers(keys: ApiKeyService) {
  const repository = keys.repository;
  const find = async (keyId: string) => {
    const row = await repository.get(keyId);
    if (!row) throw ProblemError.notFound(`No API key with key_id "${keyId}" exists.`);
    return row;
  };

  return {
    createApiKey: async ({ body }): Promise<Reply<'createApiKey'>> => {
      const expiresAt = body.expires_at === undefined ? undefined : new Date(body.expires_at);
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw ProblemError.validation([{ location: 'body', pointer: '/expires_at', message: 'must be in the future' }]);
      }
      const { row, token } = await keys.create(
        { name: body.name, scopes: body.scopes, owner: body.owner, expiresAt, rateLimitPerMinute: body.rate_limit_per_minute },
        'api',
      );
      return {
        status: 201,
        headers: { Location: `/admin/api-keys/${row.id}` },
        body: { ...toApiKey(row), token },
      };
    },

    listApiKeys: async ({ query }): Promise<Reply<'listApiKeys'>> => {
      const limit = query.limit ?? 50;
      const cursor = decodeCursor(query.cursor, { s: CURSOR_VALUE.int8 });
      const rows = await repository.list({ owner: query.owner, limit: limit + 1, beforeSeq: cursor?.s });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        status: 200,
        body: {
          items: page.map(toApiKey),
          next_cursor: rows.length > limit && last ? encodeCursor({ s: last.seq }) : null,
        },
      };
    },

    getApiKey: async ({ path }): Promise<Reply<'getApiKey'>> => ({ status: 200, body: toApiKey(await find(path.key_id)) }),

    revokeApiKey: async ({ path }): Promise<Reply<'revokeApiKey'>> => {
      const row = await repository.revoke(path.key_id);
      if (!row) throw ProblemError.notFound(`No API key with key_id "${path.key_id}" exists.`);
      return { status: 204 };
    },
  } satisfies Handlers;
}
