import type { SchemaStatsWindow } from '../generated/api.js';

/** How long each window of GET /stats is, and its bucket size (the spec's StatsWindow says so too). */
const WINDOWS: Record<SchemaStatsWindow, { seconds: number; bucketSeconds: number }> = {
  '15m': { seconds: 15 * 60, bucketSeconds: 60 },
  '1h': { seconds: 60 * 60, bucketSeconds: 60 },
  '6h': { seconds: 6 * 60 * 60, bucketSeconds: 5 * 60 },
  '24h': { seconds: 24 * 60 * 60, bucketSeconds: 15 * 60 },
};

/** The longest window: how much history per-process request counts keep. */
export const LONGEST_WINDOW_SECONDS = Math.max(...Object.values(WINDOWS).map((window) => window.seconds));

/** Requests answered in a span of time: all of them, and those with a 4xx and a 5xx status. */
export interface AnswerCounts {
  requests: number;
  client_errors: number;
  server_errors: number;
}

/** A window cut into buckets aligned to their size: [from, to), the last bucket still filling. */
export interface StatsSpan {
  window: SchemaStatsWindow;
  from: Date;
  to: Date;
  bucketSeconds: number;
  buckets: number;
}

export function statsSpan(window: SchemaStatsWindow, nowMs: number): StatsSpan {
  const { seconds, bucketSeconds } = WINDOWS[window];
  const bucketMs = bucketSeconds * 1000;
  const to = (Math.floor(nowMs / bucketMs) + 1) * bucketMs;
  return { window, from: new Date(to - seconds * 1000), to: new Date(to), bucketSeconds, buckets: seconds / bucketSeconds };
}
