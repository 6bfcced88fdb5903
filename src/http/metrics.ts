import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from '../db/database.js';

/** Prometheus metrics for one app instance (its own registry, so tests can run several apps). */
export class Metrics {
  readonly registry = new Registry();
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

  constructor(poolStats: () => PoolStats) {
    collectDefaultMetrics({ register: this.registry });
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

  observe(operation: string, status: number, seconds: number): void {
    const labels = { operation, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }
}
