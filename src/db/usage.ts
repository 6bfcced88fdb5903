import { sql } from 'kysely';
import type { Database } from './database.js';
import type { TokenPeriod } from './schema.js';

export interface TokenWindow {
  period: TokenPeriod;
  start: Date;
}

/** One completion, as the usage tables count it. */
export interface UsageIncrement {
  keyId: string;
  owner: string;
  model: string;
  /** The UTC day, 'YYYY-MM-DD'. */
  day: string;
  promptTokens: number;
  completionTokens: number;
  error: boolean;
  estimated: boolean;
  /** The key's budget windows this completion counts against. */
  windows: TokenWindow[];
}

export interface UsageRow {
  key_id: string;
  owner: string;
  model: string;
  day: string;
  requests: string;
  prompt_tokens: string;
  completion_tokens: string;
  total_tokens: string;
  errors: string;
  estimated: boolean;
}

export interface UsageQuery {
  keyId?: string | undefined;
  owner?: string | undefined;
  model?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  /** Only rows after this one in the order (day descending, then key and model ascending). */
  after?: { day: string; keyId: string; model: string } | undefined;
}

/** The gateway's usage per key, model and day, and the token counters budgets read. */
export class UsageRepository {
  constructor(private readonly database: Database) {}

  /** Adds one completion to its usage row and to its budget windows, in one transaction. */
  async record(usage: UsageIncrement): Promise<void> {
    const total = usage.promptTokens + usage.completionTokens;
    await this.database.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('gateway_usage')
        .values({
          key_id: usage.keyId,
          owner: usage.owner,
          model: usage.model,
          day: usage.day,
          requests: 1,
          prompt_tokens: usage.promptTokens,
          completion_tokens: usage.completionTokens,
          total_tokens: total,
          errors: usage.error ? 1 : 0,
          estimated: usage.estimated,
        })
        .onConflict((conflict) =>
          conflict.columns(['day', 'key_id', 'model']).doUpdateSet({
            requests: sql`gateway_usage.requests + 1`,
            prompt_tokens: sql`gateway_usage.prompt_tokens + excluded.prompt_tokens`,
            completion_tokens: sql`gateway_usage.completion_tokens + excluded.completion_tokens`,
            total_tokens: sql`gateway_usage.total_tokens + excluded.total_tokens`,
            errors: sql`gateway_usage.errors + excluded.errors`,
            estimated: sql`gateway_usage.estimated or excluded.estimated`,
          }),
        )
        .execute();
      if (total === 0 || usage.windows.length === 0) return;
      await trx
        .insertInto('token_windows')
        .values(usage.windows.map((window) => ({ key_id: usage.keyId, period: window.period, window_start: window.start, tokens: total })))
        .onConflict((conflict) => conflict.columns(['key_id', 'period', 'window_start']).doUpdateSet({ tokens: sql`token_windows.tokens + excluded.tokens` }))
        .execute();
    });
  }

  /** Tokens counted in each window (0 for a window without any), in the order asked. */
  async windowTotals(keyId: string, windows: readonly TokenWindow[]): Promise<number[]> {
    if (windows.length === 0) return [];
    const rows = await this.database.db
      .selectFrom('token_windows')
      .select(['period', 'window_start', 'tokens'])
      .where('key_id', '=', keyId)
      .where((eb) => eb.or(windows.map((window) => eb.and([eb('period', '=', window.period), eb('window_start', '=', window.start)]))))
      .execute();
    return windows.map((window) => Number(rows.find((row) => row.period === window.period && row.window_start.getTime() === window.start.getTime())?.tokens ?? 0));
  }

  /** Each key's total tokens on the UTC days from its `since` ('YYYY-MM-DD') on, in one query; 0 for a key with none. */
  async totalsSince(keys: readonly { keyId: string; since: string }[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const wanted = JSON.stringify(keys.map((key) => ({ key_id: key.keyId, since: key.since })));
    const result = await sql<{ key_id: string; total_tokens: string }>`
      select input.key_id, coalesce(sum(u.total_tokens), 0)::text as total_tokens
      from jsonb_to_recordset(${wanted}::jsonb) as input(key_id text, since date)
      left join gateway_usage u on u.key_id = input.key_id and u.day >= input.since
      group by input.key_id`.execute(this.database.db);
    return new Map(result.rows.map((row) => [row.key_id, Number(row.total_tokens)]));
  }

  async deleteWindowsBefore(period: TokenPeriod, cutoff: Date): Promise<void> {
    await this.database.db.deleteFrom('token_windows').where('period', '=', period).where('window_start', '<', cutoff).execute();
  }

  async list(query: UsageQuery): Promise<UsageRow[]> {
    let select = this.database.db
      .selectFrom('gateway_usage')
      .select(['key_id', 'owner', 'model', sql<string>`day::text`.as('day'), 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'errors', 'estimated'])
      .orderBy('day', 'desc')
      .orderBy('key_id')
      .orderBy('model')
      .limit(query.limit);
    if (query.keyId !== undefined) select = select.where('key_id', '=', query.keyId);
    if (query.owner !== undefined) select = select.where('owner', '=', query.owner);
    if (query.model !== undefined) select = select.where('model', '=', query.model);
    if (query.since !== undefined) select = select.where('day', '>=', query.since);
    if (query.until !== undefined) select = select.where('day', '<=', query.until);
    const after = query.after;
    if (after !== undefined) {
      select = select.where((eb) =>
        eb.or([
          eb('day', '<', after.day),
          eb.and([eb('day', '=', after.day), eb('key_id', '>', after.keyId)]),
          eb.and([eb('day', '=', after.day), eb('key_id', '=', after.keyId), eb('model', '>', after.model)]),
        ]),
      );
    }
    return select.execute();
  }
}
