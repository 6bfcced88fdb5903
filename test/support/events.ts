import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PorticoClient } from '../../clients/typescript/src/index.js';

/**
 * Listings show an event once it is older than every running write transaction on the server (so
 * paging never skips one), and other test files' transactions on the same Postgres can delay that.
 * Posts a sentinel event with `client` (events:write and events:read) and waits until it is listed:
 * everything committed before it is then listed too.
 */
export async function untilListingsCatchUp(client: PorticoClient, timeoutMs = 10_000): Promise<void> {
  const sentinel = `sentinel-${randomUUID()}`;
  const posted = await client.POST('/events', { body: { event_id: sentinel, event_type: sentinel, event_data: {} } });
  if (posted.response.status !== 202) throw new Error(`the sentinel event was answered ${posted.response.status}`);
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
    const { data } = await client.GET('/events', { params: { query: { event_type: sentinel } } });
    if (data?.items.length === 1) return;
  }
  throw new Error(`the sentinel event was not listed within ${timeoutMs} ms`);
}
