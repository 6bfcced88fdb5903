import { sql } from 'kysely';
import type { Database } from './database.js';
import type { TaskState, TaskType } from './schema.js';

export interface StatsQuery {
  /** Undefined: every owner (admins). */
  owner: string | undefined;
  taskType: TaskType;
  from: Date;
  to: Date;
  bucketSeconds: number;
}

/** What the database knows about one bucket of the window (`bucket` counts from 0 at `from`). */
export interface BucketFigures {
  events: number;
  tokens: number;
  started: number;
  succeeded: number;
  failed: number;
  revoked: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

export type ActiveState = Extract<TaskState, 'PENDING' | 'STARTED' | 'RETRY'>;
const ACTIVE_STATES: readonly ActiveState[] = ['PENDING', 'STARTED', 'RETRY'];

export interface WindowFigures {
  /** By bucket index; buckets where nothing happened are absent. */
  buckets: Map<number, BucketFigures>;
  /** Percentiles over the whole window (they cannot be summed from the buckets'). */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  active: Record<ActiveState, number>;
}

const empty = (): BucketFigures => ({ events: 0, tokens: 0, started: 0, succeeded: 0, failed: 0, revoked: 0, latencyP50Ms: null, latencyP95Ms: null });
const count = (value: string | number | null): number => Number(value ?? 0);
const milliseconds = (value: number | string | null): number | null => (value === null ? null : Math.round(Number(value) * 10) / 10);

/**
 * The database's side of GET /stats. Each query reads one time range through an index
 * (migration 20261202T0400_stats_indexes), so its cost follows the rows in the window.
 */
export class StatsRepository {
  constructor(private readonly database: Database) {}

  async window(query: StatsQuery): Promise<WindowFigures> {
    const [events, started, finished, active] = await Promise.all([this.events(query), this.started(query), this.finished(query), this.active(query)]);
    const buckets = new Map<number, BucketFigures>();
    const at = (bucket: number) => {
      let figures = buckets.get(bucket);
      if (!figures) buckets.set(bucket, (figures = empty()));
      return figures;
    };
    for (const row of events) Object.assign(at(row.bucket), { events: count(row.events), tokens: count(row.tokens) });
    for (const row of started) at(row.bucket).started = count(row.started);
    const activeIn = (state: ActiveState) => count(active.find((row) => row.status === state)?.count ?? 0);
    let whole: (typeof finished)[number] | undefined;
    for (const row of finished) {
      if (row.bucket === null) {
        whole = row;
        continue;
      }
      Object.assign(at(row.bucket), {
        succeeded: count(row.succeeded),
        failed: count(row.failed),
        revoked: count(row.revoked),
        latencyP50Ms: milliseconds(row.p50),
        latencyP95Ms: milliseconds(row.p95),
      });
    }
    return {
      buckets,
      latencyP50Ms: milliseconds(whole?.p50 ?? null),
      latencyP95Ms: milliseconds(whole?.p95 ?? null),
      active: { PENDING: activeIn('PENDING'), STARTED: activeIn('STARTED'), RETRY: activeIn('RETRY') },
    };
  }

  private bucketOf(column: 'received_at' | 'started_at' | 'finished_at', query: StatsQuery) {
    return sql<number>`floor(extract(epoch from ${sql.ref(column)} - ${query.from}::timestamptz) / ${query.bucketSeconds})::int`;
  }

  private ownedBy(query: StatsQuery) {
    return query.owner === undefined ? sql`true` : sql`owner = ${query.owner}`;
  }

  /** Client events, and the tokens of the gateway's completion events (system events it records). */
  private async events(query: StatsQuery) {
    const { rows } = await sql<{ bucket: number; events: string; tokens: string | null }>`
      select ${this.bucketOf('received_at', query)} as bucket,
        count(*) filter (where source = 'client') as events,
        sum((event_data->>'total_tokens')::numeric) filter (
          where source = 'system' and event_type = 'completion' and jsonb_typeof(event_data->'total_tokens') = 'number'
        ) as tokens
      from events
      where received_at >= ${query.from}::timestamptz and received_at < ${query.to}::timestamptz and ${this.ownedBy(query)}
      group by 1`.execute(this.database.db);
    return rows;
  }

  private async started(query: StatsQuery) {
    const { rows } = await sql<{ bucket: number; started: string }>`
      select ${this.bucketOf('started_at', query)} as bucket, count(*) as started
      from tasks
      where type = ${query.taskType} and started_at >= ${query.from}::timestamptz and started_at < ${query.to}::timestamptz and ${this.ownedBy(query)}
      group by 1`.execute(this.database.db);
    return rows;
  }

  /** Finished tasks by bucket and state, with latency percentiles per bucket and (bucket null) over the window. */
  private async finished(query: StatsQuery) {
    const { rows } = await sql<{ bucket: number | null; succeeded: string; failed: string; revoked: string; p50: number | null; p95: number | null }>`
      select bucket,
        count(*) filter (where status = 'SUCCESS') as succeeded,
        count(*) filter (where status = 'FAILURE') as failed,
        count(*) filter (where status = 'REVOKED') as revoked,
        percentile_cont(0.5) within group (order by latency_ms) filter (where status = 'SUCCESS') as p50,
        percentile_cont(0.95) within group (order by latency_ms) filter (where status = 'SUCCESS') as p95
      from (
        select ${this.bucketOf('finished_at', query)} as bucket, status,
          extract(epoch from finished_at - created_at) * 1000 as latency_ms
        from tasks
        where type = ${query.taskType} and finished_at >= ${query.from}::timestamptz and finished_at < ${query.to}::timestamptz and ${this.ownedBy(query)}
      ) finished
      group by grouping sets ((bucket), ())`.execute(this.database.db);
    return rows;
  }

  /** Tasks not ended, by state: as many as the queue holds (tasks_status_idx). */
  private async active(query: StatsQuery) {
    const { rows } = await sql<{ status: ActiveState; count: string }>`
      select status, count(*) as count from tasks
      where type = ${query.taskType} and status in (${sql.join(ACTIVE_STATES)}) and ${this.ownedBy(query)}
      group by status`.execute(this.database.db);
    return rows;
  }
}
