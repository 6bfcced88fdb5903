import type { Migration } from 'kysely/migration';
import * as apiKeys from './20261122T0100_api_keys.js';
import * as events from './20261122T0200_events.js';
import * as rateLimits from './20261122T0300_rate_limits.js';
import * as recommender from './20261122T0400_recommender.js';
import * as chat from './20261122T0500_chat.js';
import * as statsIndexes from './20261202T0400_stats_indexes.js';
import * as learning from './20261202T0500_learning.js';
import * as gatewayUsage from './20261202T0600_gateway_usage.js';

/** Every migration, by name; Kysely applies them in name order. */
export const migrations: Record<string, Migration> = {
  '20261122T0100_api_keys': apiKeys,
  '20261122T0200_events': events,
  '20261122T0300_rate_limits': rateLimits,
  '20261122T0400_recommender': recommender,
  '20261122T0500_chat': chat,
  '20261202T0400_stats_indexes': statsIndexes,
  '20261202T0500_learning': learning,
  '20261202T0600_gateway_usage': gatewayUsage,
};
