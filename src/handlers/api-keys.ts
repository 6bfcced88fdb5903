import type { ApiKeyService } from '../auth/api-key-service.js';
import type { ApiKeyRow } from '../db/schema.js';
import type { KeyUsageReader } from '../gateway/key-usage.js';
import { CURSOR_VALUE } from '../http/cursor.js';
import { keysetPage } from '../http/pagination.js';
import type { Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';
import { toApiKey } from '../presenters/api-keys.js';

export function apiKeyHandlers(keys: ApiKeyService, usage: KeyUsageReader) {
  const repository = keys.repository;
  /** Keys as the API shows them, each with its tokens this period (one query for them all). */
  const present = async (rows: readonly ApiKeyRow[]) => {
    const periods = await usage.of(rows);
    return rows.map((row) => toApiKey(row, periods.get(row.id)!));
  };
  const find = async (keyId: string) => {
    const row = await repository.get(keyId);
    if (!row) throw DomainError.notFound(`No API key with key_id "${keyId}" exists.`);
    return (await present([row]))[0]!;
  };

  return {
    createApiKey: async ({ body }): Promise<Reply<'createApiKey'>> => {
      const expiresAt = body.expires_at === undefined ? undefined : new Date(body.expires_at);
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw DomainError.validation([{ location: 'body', pointer: '/expires_at', message: 'must be in the future' }]);
      }
      const { row, token } = await keys.create(
        {
          name: body.name,
          scopes: body.scopes,
          owner: body.owner,
          expiresAt,
          rateLimitPerMinute: body.rate_limit_per_minute,
          models: body.models,
          tokenBudget: body.token_budget === undefined ? undefined : { tokens: body.token_budget, period: body.budget_period },
          tokensPerMinute: body.tokens_per_minute,
        },
        'api',
      );
      return {
        status: 201,
        headers: { Location: `/admin/api-keys/${row.id}` },
        body: { ...(await present([row]))[0]!, token },
      };
    },

    listApiKeys: async ({ query }): Promise<Reply<'listApiKeys'>> => ({
      status: 200,
      body: await keysetPage(query, {
        cursor: { s: CURSOR_VALUE.int8 },
        fetch: async (after, limit) => {
          const rows = await repository.list({ owner: query.owner, limit, beforeSeq: after?.s });
          return (await present(rows)).map((item, index) => ({ item, seq: rows[index]!.seq }));
        },
        position: (row) => ({ s: row.seq }),
        present: (row) => row.item,
      }),
    }),

    getCurrentKey: async (_input, { principal }): Promise<Reply<'getCurrentKey'>> => ({ status: 200, body: await find(principal.keyId) }),

    getApiKey: async ({ path }): Promise<Reply<'getApiKey'>> => ({ status: 200, body: await find(path.key_id) }),

    revokeApiKey: async ({ path }): Promise<Reply<'revokeApiKey'>> => {
      const row = await repository.revoke(path.key_id);
      if (!row) throw DomainError.notFound(`No API key with key_id "${path.key_id}" exists.`);
      return { status: 204 };
    },
  } satisfies Handlers;
}
