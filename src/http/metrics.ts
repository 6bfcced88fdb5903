import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from '../db/database.js';
import { type AnswerCounts, LONGEST_WINDOW_SECONDS, type StatsSpan } from '../domain/stats.js';
import type { AttemptOutcome, UpstreamObserver } from '../gateway/gateway.js';

const MINUTE_MS = 60_000;
const RETAINED_MINUTES = LONGEST_WINDOW_SECONDS / 60 + 1;

/**
 * This process's answers per minute over the longest stats window, for GET /stats: every answer,
 * and each owner's (answers to authenticated requests). Owners exist only as admins create keys,
 * and an owner without answers in the window is forgotten, so this stays small.
 */
export class AnswerSeries {
  private readonly all = new Map<number, AnswerCounts>();
  private readonly byOwner = new Map<string, Map<number, AnswerCounts>>();
  private prunedAt = 0;

  record(status: number, owner: string | undefined, nowMs: number = Date.now()): void {
    const minute = Math.floor(nowMs / MINUTE_MS);
    if (minute !== this.prunedAt) this.prune(minute);
    add(this.all, minute, status);
    if (owner === undefined) return;
    let minutes = this.byOwner.get(owner);
    if (!minutes) this.byOwner.set(owner, (minutes = new Map()));
    add(minutes, minute, status);
  }

  /** Per bucket of `span`: every answer (owner undefined) or that owner's. */
  buckets(span: StatsSpan, owner: string | undefined): AnswerCounts[] {
    const minutes = owner === undefined ? this.all : this.byOwner.get(owner);
    const perBucket = span.bucketSeconds / 60;
    const first = span.from.getTime() / MINUTE_MS;
    return Array.from({ length: span.buckets }, (_, bucket) => {
      const total: AnswerCounts = { requests: 0, client_errors: 0, server_errors: 0 };
      for (let minute = first + bucket * perBucket; minute < first + (bucket + 1) * perBucket; minute++) {
        const counts = minutes?.get(minute);
        if (!counts) continue;
        total.requests += counts.requests;
        total.client_errors += counts.client_errors;
        total.server_errors += counts.server_errors;
      }
      return total;
    });
  }

  private prune(minute: number): void {
    this.prunedAt = minute;
    const oldest = minute - RETAINED_MINUTES;
    const drop = (minutes: Map<number, AnswerCounts>) => {
      for (const key of minutes.keys()) if (key < oldest) minutes.delete(key);
    };
    drop(this.all);
    for (const [owner, minutes] of this.byOwner) {
      drop(minutes);
      if (minutes.size === 0) this.byOwner.delete(owner);
    }
  }
}

function add(minutes: Map<number, AnswerCounts>, minute: number, status: number): void {
  let counts = minutes.get(minute);
  if (!counts) minutes.set(minute, (counts = { requests: 0, client_errors: 0, server_errors: 0 }));
  counts.requests++;
  if (status >= 500) counts.server_errors++;
  else if (status >= 400) counts.client_errors++;
}

/** A model version's online figures, as GET /models/{model_id} shows them under `online`. */
export interface VersionOnlineFigures {
  version: number;
  tasks: number;
  feedback: number;
  selections: number;
  selection_rate: number | null;
  hit_rate_at_k: number | null;
  mrr: number | null;
}

/** Prometheus metrics for one app instance (its own registry, so tests can run several apps), and its answers per minute. */
export class Metrics {
  readonly registry = new Registry();
  readonly answers = new AnswerSeries();
  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by operation and status.',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response end, by operation and status.',
    labelNames: ['operation', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** The gateway's figures per upstream (its base URL and model). */
  readonly upstreams: UpstreamObserver;

  constructor(poolStats: () => PoolStats, modelOnline?: () => Promise<VersionOnlineFigures[]>) {
    const attempts = new Counter({
      name: 'gateway_upstream_requests_total',
      help: 'Completion attempts per upstream, by outcome (ok, error, timeout, broken mid-answer, skipped by its open breaker, client_closed).',
      labelNames: ['upstream', 'outcome'] as const,
      registers: [this.registry],
    });
    const firstToken = new Histogram({
      name: 'gateway_upstream_time_to_first_token_seconds',
      help: 'From the request to the upstream until its first token, per upstream.',
      labelNames: ['upstream'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    const speed = new Histogram({
      name: 'gateway_upstream_tokens_per_second',
      help: 'Completion tokens per second after the first token, per upstream and answer.',
      labelNames: ['upstream'] as const,
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
      registers: [this.registry],
    });
    const tokens = new Counter({
      name: 'gateway_upstream_completion_tokens_total',
      help: 'Completion tokens streamed per upstream.',
      labelNames: ['upstream'] as const,
      registers: [this.registry],
    });
    const breaker = new Gauge({
      name: 'gateway_upstream_breaker_open',
      help: '1 while the upstream\'s circuit breaker is open (it is skipped), else 0.',
      labelNames: ['upstream'] as const,
      registers: [this.registry],
    });
    this.upstreams = {
      attempted: (upstream: string, outcome: AttemptOutcome) => attempts.inc({ upstream, outcome }),
      firstToken: (upstream: string, seconds: number) => firstToken.observe({ upstream }, seconds),
      streamed: (upstream: string, count: number, seconds: number) => {
        tokens.inc({ upstream }, count);
        speed.observe({ upstream }, count / seconds);
      },
      breaker: (upstream: string, open: boolean) => breaker.set({ upstream }, open ? 1 : 0),
    };
    // Among them the event loop's delay (nodejs_eventloop_lag_*_seconds, monitorEventLoopDelay,
    // reset at each scrape): a request that stalls the process shows there first.
    collectDefaultMetrics({ register: this.registry });
    if (modelOnline) this.modelGauges(modelOnline);
    const gauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read(poolStats()));
        },
      });
    gauge('db_pool_connections_total', 'Open database connections.', (stats) => stats.total);
    gauge('db_pool_connections_idle', 'Idle database connections.', (stats) => stats.idle);
    gauge('db_pool_requests_waiting', 'Queries waiting for a database connection.', (stats) => stats.waiting);
  }

  /**
   * Each version's online figures, read from the database at scrape time (one row per version).
   * Rates without feedback are left out rather than reported as 0.
   */
  private modelGauges(read: () => Promise<VersionOnlineFigures[]>): void {
    const figures: (keyof Omit<VersionOnlineFigures, 'version'>)[] = ['tasks', 'feedback', 'selections', 'selection_rate', 'hit_rate_at_k', 'mrr'];
    let pending: Promise<VersionOnlineFigures[]> | undefined;
    // One read per scrape, shared by the six gauges.
    const once = () => (pending ??= read().finally(() => setImmediate(() => (pending = undefined))));
    for (const figure of figures) {
      new Gauge({
        name: `portico_model_online_${figure}`,
        help: `Model versions' online ${figure.replaceAll('_', ' ')} (see ModelOnline in the API reference), by version.`,
        labelNames: ['version'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const row of await once()) {
            const value = row[figure];
            if (value !== null) this.set({ version: String(row.version) }, value);
          }
        },
      });
    }
  }

  /** One answered request; `owner` is its key's, when it was authenticated. */
  observe(operation: string, status: number, seconds: number, owner?: string): void {
    const labels = { operation, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
    this.answers.record(status, owner);
  }
}
