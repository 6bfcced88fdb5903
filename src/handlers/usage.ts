import { isAdmin } from '../auth/principal.js';
import type { UsageRepository } from '../db/usage.js';
import { DomainError } from '../domain/errors.js';
import { CURSOR_VALUE } from '../http/cursor.js';
import type { Handlers, Reply } from '../http/operations.js';
import { keysetPage } from '../http/pagination.js';
import { toUsageRecord } from '../presenters/usage.js';

export function usageHandlers(usage: UsageRepository) {
  return {
    listUsage: async ({ query }, { principal }): Promise<Reply<'listUsage'>> => {
      const admin = isAdmin(principal);
      // Any key reads its own usage; only an admin reads other keys' (and so may filter by key or owner).
      if (!admin && query.key_id !== undefined && query.key_id !== principal.keyId) {
        throw new DomainError('forbidden', 'Only an admin key may read the usage of other keys; omit key_id to read your own.');
      }
      if (!admin && query.owner !== undefined && query.owner !== principal.owner) {
        throw new DomainError('forbidden', 'Only an admin key may read the usage of other owners; omit owner to read your own.');
      }
      if (query.since !== undefined && query.until !== undefined && query.since > query.until) {
        throw DomainError.validation([{ location: 'query', pointer: '/until', message: 'must not be before since' }]);
      }
      return {
        status: 200,
        body: await keysetPage(query, {
          cursor: { d: CURSOR_VALUE.date, k: CURSOR_VALUE.text, m: CURSOR_VALUE.text },
          fetch: (after, limit) =>
            usage.list({
              keyId: admin ? query.key_id : principal.keyId,
              owner: query.owner,
              model: query.model,
              since: query.since,
              until: query.until,
              limit,
              after: after ? { day: after.d, keyId: after.k, model: after.m } : undefined,
            }),
          position: (row) => ({ d: row.day, k: row.key_id, m: row.model }),
          present: toUsageRecord,
        }),
      };
    },
  } satisfies Handlers;
}
