import type { Request, Response } from 'express';
import { type ClientRateLimitInfo, type Options, type Store, rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';
import { RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import type { RateLimitRepository } from '../db/rate-limits.js';
import { DomainError } from '../domain/errors.js';
import type { Principal } from './principal.js';

const WINDOW_MS = 60_000;

interface WindowCount {
  window: number;
  /** The total over all processes as of the last sync. */
  synced: number;
  /** Hits being added to the shared total by the sync under way: still counted until it answers. */
  syncing: number;
  /** Hits counted here and not yet added to the shared total. */
  pending: number;
}

/**
 * An express-rate-limit store shared by every process through Postgres without a write per request:
 * each process counts locally and adds its counts to the shared row every `syncMs`, reading back
 * the total. Other processes' hits therefore show up within `syncMs`; a single process is exact.
 */
export class SharedWindowStore implements Store {
  readonly localKeys = false;
  private readonly counts = new Map<string, WindowCount>();
  private windowMs = WINDOW_MS;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private lastCleanup = 0;

  constructor(
    private readonly repository: RateLimitRepository,
    private readonly log: Logger,
    private readonly syncMs = 250,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
    this.timer = setInterval(() => void this.sync(), this.syncMs);
    this.timer.unref();
  }

  private current(key: string): WindowCount {
    const window = Math.floor(Date.now() / this.windowMs);
    let count = this.counts.get(key);
    if (!count || count.window !== window) {
      count = { window, synced: 0, syncing: 0, pending: 0 };
      this.counts.set(key, count);
    }
    return count;
  }

  async get(key: string): Promise<ClientRateLimitInfo> {
    const count = this.current(key);
    return { totalHits: count.synced + count.syncing + count.pending, resetTime: new Date((count.window + 1) * this.windowMs) };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    this.current(key).pending += 1;
    return this.get(key);
  }

  async decrement(key: string): Promise<void> {
    this.current(key).pending -= 1;
  }

  async resetKey(key: string): Promise<void> {
    this.counts.delete(key);
    await this.repository.reset(key);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sync();
  }

  sync(): Promise<void> {
    this.syncing ??= this.syncNow().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncNow(): Promise<void> {
    const batch = [...this.counts]
      .filter(([, count]) => count.pending !== 0)
      .map(([key, count]) => ({ key, count, hits: count.pending, windowStart: new Date(count.window * this.windowMs) }));
    if (batch.length === 0) return;
    // Moved, not dropped: until the shared total answers, requests must still see these hits (a
    // key at its limit got through while the round trip was under way).
    for (const item of batch) {
      item.count.pending -= item.hits;
      item.count.syncing += item.hits;
    }
    try {
      const totals = await this.repository.add(batch.map(({ key, hits, windowStart }) => ({ key, hits, windowStart })));
      for (const item of batch) item.count.syncing -= item.hits;
      for (const total of totals) {
        const count = this.counts.get(total.key);
        if (count && count.window * this.windowMs === total.windowStart.getTime()) count.synced = total.hits;
      }
      const now = Date.now();
      if (now - this.lastCleanup > 10 * this.windowMs) {
        this.lastCleanup = now;
        await this.repository.deleteBefore(new Date(now - 2 * this.windowMs));
      }
    } catch (error) {
      // Keep the hits for the next sync; limiting goes on with the local counts meanwhile.
      for (const item of batch) {
        item.count.syncing -= item.hits;
        item.count.pending += item.hits;
      }
      this.log.warn({ err: error }, 'could not sync rate-limit counters');
    }
  }
}

export interface RateLimiterOptions {
  defaultPerMinute: number;
  store: Store;
}

/** Per-key rate limiting (express-rate-limit), run by the security handler once the key is known. */
export class RequestRateLimiter {
  private readonly principals = new WeakMap<Request, Principal>();
  private readonly middleware;
  private readonly limitFor: (principal: Principal | undefined) => number;

  constructor(options: RateLimiterOptions) {
    const principals = this.principals;
    const limitFor = (principal: Principal | undefined) => principal?.rateLimitPerMinute ?? options.defaultPerMinute;
    this.limitFor = limitFor;
    this.middleware = rateLimit({
      windowMs: WINDOW_MS,
      limit: (req) => limitFor(principals.get(req)),
      keyGenerator: (req) => principals.get(req)?.keyId ?? 'anonymous',
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      store: options.store,
      // A broken counter store must not take the API down: requests pass and the error is logged.
      passOnStoreError: true,
      validate: { keyGeneratorIpFallback: false, trustProxy: false, xForwardedForHeader: false },
      handler: (req, _res, next) => {
        const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const retryAfter = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000));
        const limit = limitFor(principals.get(req));
        next(new DomainError('rate_limited', `Rate limit of ${limit} requests per minute exceeded; retry in ${retryAfter} s.`, { retryAfterSeconds: retryAfter }));
      },
    });
  }

  /** Counts the request against its key; rejects with a rate_limited DomainError when over the limit. */
  async check(req: Request, res: Response, principal: Principal): Promise<void> {
    if (this.limitFor(principal) === 0) return;
    this.principals.set(req, principal);
    return new Promise((resolve, reject) => {
      void this.middleware(req, res, (error?: unknown) => (error ? reject(error) : resolve()));
    });
  }
}

/** Redis-backed counters when REDIS_URL is set. */
export async function redisStore(url: string, log: Logger): Promise<{ store: Store; close: () => Promise<void> }> {
  const client = createClient({ url });
  client.on('error', (error: unknown) => log.warn({ err: error }, 'redis error'));
  await client.connect();
  const store = new RedisStore({ prefix: 'portico:rl:', sendCommand: (...args: string[]) => client.sendCommand(args) });
  return { store, close: async () => void (await client.quit()) };
}
