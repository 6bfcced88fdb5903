import type { Logger } from 'pino';
import type { ApiKeyRepository } from '../db/api-keys.js';
import type { ApiKeyOrigin, ApiKeyRow, BudgetPeriod, NewApiKey } from '../db/schema.js';
import type { Scope } from './principal.js';
import { generateKeyId, generateToken, hashToken, tokenHint } from './tokens.js';

export interface NewKeyRequest {
  name: string;
  scopes: readonly Scope[];
  owner?: string | undefined;
  expiresAt?: Date | undefined;
  rateLimitPerMinute?: number | undefined;
  /** Gateway models the key may use; undefined for all. */
  models?: readonly string[] | undefined;
  tokenBudget?: { tokens: number; period: BudgetPeriod } | undefined;
  tokensPerMinute?: number | undefined;
}

export interface CreatedKey {
  row: ApiKeyRow;
  /** The secret; shown once and never stored. */
  token: string;
}

export const ADMIN_OWNER = 'admin';

function newKey(request: NewKeyRequest, origin: ApiKeyOrigin, token: string): NewApiKey {
  const id = generateKeyId();
  return {
    id,
    name: request.name,
    owner: request.owner ?? id,
    scopes: [...new Set(request.scopes)],
    token_hash: hashToken(token),
    token_hint: tokenHint(token),
    origin,
    rate_limit_per_minute: request.rateLimitPerMinute ?? null,
    models: request.models ? [...new Set(request.models)] : null,
    token_budget: request.tokenBudget?.tokens ?? null,
    budget_period: request.tokenBudget?.period ?? null,
    tokens_per_minute: request.tokensPerMinute ?? null,
    expires_at: request.expiresAt ?? null,
  };
}

/** Creating, listing and revoking API keys, for the admin API, the CLI and start-up. */
export class ApiKeyService {
  constructor(readonly repository: ApiKeyRepository) {}

  async create(request: NewKeyRequest, origin: ApiKeyOrigin): Promise<CreatedKey> {
    const token = generateToken();
    const row = await this.repository.create(newKey(request, origin, token));
    return { row, token };
  }

  /**
   * Start-up: with ADMIN_TOKEN, make that exact token the admin key (replacing an earlier value);
   * without it, create an admin key if none works, and hand its token to `announce` (once).
   */
  async bootstrapAdmin(adminToken: string | undefined, log: Logger, announce: (token: string) => void): Promise<void> {
    const admin: NewKeyRequest = { name: 'admin', scopes: ['admin'], owner: ADMIN_OWNER };
    if (adminToken !== undefined) {
      const outcome = await this.repository.setAdminToken(hashToken(adminToken), () => newKey({ ...admin, name: 'ADMIN_TOKEN' }, 'admin_token', adminToken));
      if (outcome !== 'unchanged') log.info({ outcome }, 'admin key set from ADMIN_TOKEN');
      return;
    }
    const token = generateToken();
    if (await this.repository.ensureAdminKey(() => newKey({ ...admin, name: 'bootstrap admin' }, 'bootstrap', token))) {
      log.info('created the first admin key; its token was printed to the terminal');
      announce(token);
    }
  }
}

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';

export function keyStatus(row: ApiKeyRow, now = Date.now()): ApiKeyStatus {
  if (row.revoked_at !== null) return 'revoked';
  if (row.expires_at !== null && row.expires_at.getTime() <= now) return 'expired';
  return 'active';
}
