import type { WindowFigures } from '../db/stats.js';
import type { AnswerCounts, StatsSpan } from '../domain/stats.js';
import type { SchemaStats, SchemaStatsCounts } from '../generated/api.js';

export interface StatsInput {
  span: StatsSpan;
  owner: string | undefined;
  taskType: SchemaStats['task_type'];
  figures: WindowFigures;
  /** Answers per bucket of `span`. */
  answers: AnswerCounts[];
}

export function toStats({ span, owner, taskType, figures, answers }: StatsInput): SchemaStats {
  const bucketMs = span.bucketSeconds * 1000;
  const points = Array.from({ length: span.buckets }, (_, bucket) => {
    const database = figures.buckets.get(bucket);
    const answered = answers[bucket] ?? { requests: 0, client_errors: 0, server_errors: 0 };
    return {
      start: new Date(span.from.getTime() + bucket * bucketMs).toISOString(),
      events_received: database?.events ?? 0,
      tasks_started: database?.started ?? 0,
      tasks_succeeded: database?.succeeded ?? 0,
      tasks_failed: database?.failed ?? 0,
      tasks_revoked: database?.revoked ?? 0,
      latency_p50_ms: database?.latencyP50Ms ?? null,
      latency_p95_ms: database?.latencyP95Ms ?? null,
      gateway_tokens: database?.tokens ?? 0,
      ...answered,
    };
  });
  const sum = (field: Exclude<keyof SchemaStatsCounts, 'latency_p50_ms' | 'latency_p95_ms'>) => points.reduce((total, point) => total + point[field], 0);
  const totals: SchemaStatsCounts = {
    events_received: sum('events_received'),
    tasks_started: sum('tasks_started'),
    tasks_succeeded: sum('tasks_succeeded'),
    tasks_failed: sum('tasks_failed'),
    tasks_revoked: sum('tasks_revoked'),
    // Percentiles of the whole window: they cannot be added up from the buckets'.
    latency_p50_ms: figures.latencyP50Ms,
    latency_p95_ms: figures.latencyP95Ms,
    gateway_tokens: sum('gateway_tokens'),
    requests: sum('requests'),
    client_errors: sum('client_errors'),
    server_errors: sum('server_errors'),
  };
  return {
    window: span.window,
    bucket_seconds: span.bucketSeconds,
    from: span.from.toISOString(),
    to: span.to.toISOString(),
    owner: owner ?? null,
    task_type: taskType,
    tasks_active: figures.active,
    totals,
    points,
  };
}
