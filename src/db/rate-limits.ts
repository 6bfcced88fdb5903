import { sql } from 'kysely';
import type { Database } from './database.js';

export interface WindowHits {
  key: string;
  windowStart: Date;
  hits: number;
}

/** Shared rate-limit counters: one row per key and fixed window, summed over every process. */
export class RateLimitRepository {
  constructor(private readonly database: Database) {}

  /** Adds each process-local count and returns the new totals, in one statement. */
  async add(increments: WindowHits[]): Promise<WindowHits[]> {
    if (increments.length === 0) return [];
    const rows = JSON.stringify(increments.map((row) => ({ key: row.key, window_start: row.windowStart.toISOString(), hits: row.hits })));
    const result = await sql<{ key: string; window_start: Date; hits: number }>`
      insert into rate_limit_windows (key, window_start, hits)
      select key, window_start, hits from jsonb_to_recordset(${rows}::jsonb) as t(key text, window_start timestamptz, hits integer)
      on conflict (key, window_start) do update set hits = rate_limit_windows.hits + excluded.hits
      returning key, window_start, hits`.execute(this.database.db);
    return result.rows.map((row) => ({ key: row.key, windowStart: row.window_start, hits: row.hits }));
  }

  async deleteBefore(cutoff: Date): Promise<void> {
    await this.database.db.deleteFrom('rate_limit_windows').where('window_start', '<', cutoff).execute();
  }

  async reset(key: string): Promise<void> {
    await this.database.db.deleteFrom('rate_limit_windows').where('key', '=', key).execute();
  }
}
