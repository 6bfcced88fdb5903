import type { Logger } from 'pino';
import { API_KEY_CHANGES, type ApiKeyRepository } from '../db/api-keys.js';
import type { Notifications } from '../db/notifications.js';
import { followChannel } from '../db/subscription.js';
import type { ApiKeyRow } from '../db/schema.js';
import type { Principal } from './principal.js';
import { hashToken } from './tokens.js';

interface CacheEntry {
  loadedAt: number;
  lookup: Promise<ApiKeyRow | undefined>;
  /** Known once the lookup has found a key. */
  keyId?: string;
}

export interface VerifierOptions {
  /** How long a lookup is trusted. Revocations also arrive by NOTIFY at once; this bounds a missed one. */
  cacheTtlMs: number;
  maxEntries: number;
  /** last_used_at is written at most this often per key. */
  usageIntervalMs: number;
}

const DEFAULTS: VerifierOptions = { cacheTtlMs: 500, maxEntries: 10_000, usageIntervalMs: 60_000 };

/**
 * Turns a bearer token into a Principal: SHA-256 of the token, one indexed lookup, cached for well
 * under a second and dropped at once when any process revokes or changes the key (LISTEN/NOTIFY).
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly principals = new WeakMap<ApiKeyRow, Principal>();
  private readonly pendingUsage = new Map<string, Date>();
  private readonly lastRecorded = new Map<string, number>();
  private readonly options: VerifierOptions;
  private unfollow: (() => Promise<void>) | undefined;
  private usageTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: ApiKeyRepository,
    private readonly notifications: Notifications,
    private readonly log: Logger,
    options: Partial<VerifierOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  async start(): Promise<void> {
    this.unfollow = await followChannel(this.notifications, API_KEY_CHANGES, (keyId) => this.forget(keyId), () => this.cache.clear());
    this.usageTimer = setInterval(() => void this.flushUsage(), Math.min(5000, this.options.usageIntervalMs));
    this.usageTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.usageTimer);
    await this.unfollow?.();
    await this.flushUsage();
  }

  /** The principal for a token, or undefined when it is unknown, expired or revoked. */
  async verify(token: string): Promise<Principal | undefined> {
    const now = Date.now();
    const tokenHash = hashToken(token);
    const cacheKey = tokenHash.toString('base64');
    let entry = this.cache.get(cacheKey);
    if (!entry || now - entry.loadedAt > this.options.cacheTtlMs) {
      const fresh: CacheEntry = { loadedAt: now, lookup: this.repository.findByTokenHash(tokenHash) };
      fresh.lookup.then(
        (row) => {
          if (row) fresh.keyId = row.id;
        },
        () => this.cache.delete(cacheKey),
      );
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, fresh);
      this.evictOverflow();
      entry = fresh;
    }
    const row = await entry.lookup;
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= now)) return undefined;
    this.noteUsage(row.id, now);
    let principal = this.principals.get(row);
    if (!principal) {
      principal = {
        keyId: row.id,
        owner: row.owner,
        scopes: row.scopes,
        rateLimitPerMinute: row.rate_limit_per_minute,
        models: row.models,
        tokenBudget: row.token_budget !== null && row.budget_period !== null ? { tokens: Number(row.token_budget), period: row.budget_period } : null,
        tokensPerMinute: row.tokens_per_minute,
      };
      this.principals.set(row, principal);
    }
    return principal;
  }

  /** Drops the key's entry, and any lookup still in flight, which may have read it before the change. */
  private forget(keyId: string): void {
    for (const [cacheKey, entry] of this.cache) {
      if (entry.keyId === undefined || entry.keyId === keyId) this.cache.delete(cacheKey);
    }
  }

  private evictOverflow(): void {
    for (const cacheKey of this.cache.keys()) {
      if (this.cache.size <= this.options.maxEntries) return;
      this.cache.delete(cacheKey);
    }
  }

  private noteUsage(keyId: string, now: number): void {
    if (now - (this.lastRecorded.get(keyId) ?? 0) < this.options.usageIntervalMs) return;
    this.lastRecorded.set(keyId, now);
    this.pendingUsage.set(keyId, new Date(now));
  }

  private async flushUsage(): Promise<void> {
    if (this.pendingUsage.size === 0) return;
    const usage = new Map(this.pendingUsage);
    this.pendingUsage.clear();
    try {
      await this.repository.touchLastUsed(usage);
    } catch (error) {
      this.log.warn({ err: error }, 'could not record API key usage');
    }
  }
}
