import type { Logger } from 'pino';
import { createClient } from 'redis';
import type { Principal } from '../auth/principal.js';
import type { EventBatcher } from '../db/event-batcher.js';
import type { TokenPeriod } from '../db/schema.js';
import type { TokenWindow, UsageRepository } from '../db/usage.js';
import { DomainError } from '../domain/errors.js';
import type { FinishedCompletion, Ledger } from './gateway.js';

const DAY_MS = 86_400_000;

/** The UTC calendar window of `period` that holds `now` (weeks start on Monday). */
export function windowAt(period: TokenPeriod, now: Date): { start: Date; end: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  switch (period) {
    case 'minute': {
      const start = Math.floor(now.getTime() / 60_000) * 60_000;
      return { start: new Date(start), end: new Date(start + 60_000) };
    }
    case 'day':
      return { start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) };
    case 'week': {
      const sinceMonday = (now.getUTCDay() + 6) % 7;
      const start = Date.UTC(y, m, d - sinceMonday);
      return { start: new Date(start), end: new Date(start + 7 * DAY_MS) };
    }
    case 'month':
      return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
  }
}

/** Tokens used per key and window, shared by every process. */
export interface TokenCounter {
  spent(keyId: string, windows: readonly TokenWindow[]): Promise<number[]>;
  /** Called once the completion's tokens are committed to Postgres. */
  added(keyId: string, windows: readonly TokenWindow[], tokens: number): Promise<void>;
  close(): Promise<void>;
}

/** Postgres alone: the committed token_windows rows are the counters. */
export class PostgresTokenCounter implements TokenCounter {
  constructor(private readonly usage: UsageRepository) {}
  spent(keyId: string, windows: readonly TokenWindow[]): Promise<number[]> {
    return this.usage.windowTotals(keyId, windows);
  }
  async added(): Promise<void> {}
  async close(): Promise<void> {}
}

// Adds only to a counter that exists: a missing one is loaded from Postgres (which already has these tokens).
const ADD_IF_PRESENT = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('incrby', KEYS[1], ARGV[1]) end return nil";

/**
 * Redis (REDIS_URL) in front of the Postgres counters: one round trip per request instead of a
 * query. A counter Redis does not have (first use, eviction, a flushed Redis) is loaded from
 * Postgres; Postgres stays the record.
 */
export class RedisTokenCounter implements TokenCounter {
  private constructor(
    private readonly client: ReturnType<typeof createClient>,
    private readonly usage: UsageRepository,
  ) {}

  static async connect(url: string, usage: UsageRepository, log: Logger): Promise<RedisTokenCounter> {
    const client = createClient({ url });
    client.on('error', (error: unknown) => log.warn({ err: error }, 'redis error'));
    await client.connect();
    return new RedisTokenCounter(client, usage);
  }

  private keyOf(keyId: string, window: TokenWindow): string {
    return `portico:tokens:${keyId}:${window.period}:${window.start.getTime()}`;
  }

  async spent(keyId: string, windows: readonly TokenWindow[]): Promise<number[]> {
    if (windows.length === 0) return [];
    const keys = windows.map((window) => this.keyOf(keyId, window));
    const cached = await this.client.mGet(keys);
    const missing = windows.filter((_, index) => cached[index] === null);
    const loaded = missing.length > 0 ? await this.usage.windowTotals(keyId, missing) : [];
    return Promise.all(
      windows.map(async (window, index) => {
        const value = cached[index];
        if (value !== null && value !== undefined) return Number(value);
        const total = loaded[missing.indexOf(window)] ?? 0;
        const expiresAt = windowAt(window.period, window.start).end.getTime() + 60_000;
        await this.client.set(keys[index]!, String(total), { condition: 'NX', expiration: { type: 'PXAT', value: expiresAt } });
        return total;
      }),
    );
  }

  async added(keyId: string, windows: readonly TokenWindow[], tokens: number): Promise<void> {
    await Promise.all(windows.map((window) => this.client.eval(ADD_IF_PRESENT, { keys: [this.keyOf(keyId, window)], arguments: [String(tokens)] })));
  }

  async close(): Promise<void> {
    await this.client.quit();
  }
}

/**
 * Budgets and usage: a key is admitted while its tokens in the current budget period and minute are
 * below its limits (so concurrent requests overrun a budget by at most what the requests already in
 * flight use), and every completion is recorded in its usage row, its windows and as a
 * `completion` event.
 */
export class UsageLedger implements Ledger {
  private cleanedAt = 0;

  constructor(
    private readonly usage: UsageRepository,
    private readonly counter: TokenCounter,
    private readonly events: EventBatcher,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private windows(principal: Principal, now: Date): { window: TokenWindow; end: Date; limit: number; what: string }[] {
    const limits: { window: TokenWindow; end: Date; limit: number; what: string }[] = [];
    if (principal.tokenBudget) {
      const { start, end } = windowAt(principal.tokenBudget.period, now);
      limits.push({ window: { period: principal.tokenBudget.period, start }, end, limit: principal.tokenBudget.tokens, what: `its budget of ${principal.tokenBudget.tokens} tokens for this ${principal.tokenBudget.period}` });
    }
    if (principal.tokensPerMinute !== null) {
      const { start, end } = windowAt('minute', now);
      limits.push({ window: { period: 'minute', start }, end, limit: principal.tokensPerMinute, what: `its ${principal.tokensPerMinute} tokens per minute` });
    }
    return limits;
  }

  async admit(principal: Principal): Promise<void> {
    const now = this.now();
    const limits = this.windows(principal, now);
    if (limits.length === 0) return;
    const spent = await this.counter.spent(principal.keyId, limits.map((limit) => limit.window));
    const over = limits.filter((limit, index) => (spent[index] ?? 0) >= limit.limit);
    if (over.length === 0) return;
    // When both are used up, the later renewal is when a request can pass.
    const last = over.reduce((a, b) => (b.end > a.end ? b : a));
    const seconds = Math.max(1, Math.ceil((last.end.getTime() - now.getTime()) / 1000));
    throw new DomainError('rate_limited', `The key has used ${last.what}; it renews in ${seconds} s.`, { retryAfterSeconds: seconds });
  }

  async record(completion: FinishedCompletion): Promise<void> {
    const now = this.now();
    const { principal, usage } = completion;
    const windows = this.windows(principal, now).map((limit) => limit.window);
    await this.usage.record({
      keyId: principal.keyId,
      owner: principal.owner,
      model: completion.model,
      day: now.toISOString().slice(0, 10),
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      error: completion.outcome === 'error' || completion.outcome === 'broken',
      estimated: completion.estimated,
      windows,
    });
    if (usage.total_tokens > 0) await this.counter.added(principal.keyId, windows, usage.total_tokens);
    await this.events.recordSystem(principal.owner, 'completion', {
      completion_id: completion.id,
      key_id: principal.keyId,
      model: completion.model,
      route: completion.surface,
      upstream: completion.upstream?.model ?? null,
      upstream_position: completion.upstream?.position ?? null,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens,
      estimated: completion.estimated,
      latency_ms: completion.latencyMs,
      time_to_first_token_ms: completion.firstTokenMs,
      outcome: completion.outcome,
    });
    if (now.getTime() - this.cleanedAt > 600_000) {
      this.cleanedAt = now.getTime();
      // Minute windows matter for a minute; calendar windows are kept for a period after they end.
      await this.usage.deleteWindowsBefore('minute', new Date(now.getTime() - 3_600_000));
      await this.usage.deleteWindowsBefore('day', new Date(now.getTime() - 2 * DAY_MS));
      await this.usage.deleteWindowsBefore('week', new Date(now.getTime() - 14 * DAY_MS));
      await this.usage.deleteWindowsBefore('month', new Date(now.getTime() - 62 * DAY_MS));
    }
  }
}
