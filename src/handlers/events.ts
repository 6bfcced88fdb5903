import { isAdmin, type Principal, visibleOwner } from '../auth/principal.js';
import type { EventBatcher } from '../db/event-batcher.js';
import type { EventRepository, IncomingEvent } from '../db/events.js';
import type { SchemaEventIn } from '../generated/api.js';
import { toEvent } from '../presenters/events.js';
import { CURSOR_VALUE, decodeEventPosition, unsentPosition } from '../http/cursor.js';
import { keysetPage } from '../http/pagination.js';
import type { Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';
import type { LiveEventHub } from '../streams/live-events.js';

/** A page of GET /events ends once its events' data reach 1 MiB (documented in the spec), so one listing stays cheap. */
export const EVENT_PAGE_MAX_BYTES = 1024 * 1024;
const ACCEPTED = 'Data received!';

function incoming(event: SchemaEventIn, principal: Principal): IncomingEvent {
  return { owner: principal.owner, event_id: event.event_id, event_type: event.event_type, event_data: event.event_data, source: 'client' };
}

/** Admins see every owner unless they name one; other keys see only their own owner. */
function ownerFilter(principal: Principal, requested: string | undefined): string | undefined {
  return isAdmin(principal) ? requested : principal.owner;
}

export function eventHandlers(batcher: EventBatcher, repository: EventRepository, live: LiveEventHub) {
  return {
    streamEvents: async ({ query, headers }, { principal }): Promise<Reply<'streamEvents'>> => {
      const from = decodeEventPosition(headers['last-event-id'], query.last_event_id);
      const stream = await live.stream(from, { owner: visibleOwner(principal), eventType: query.event_type });
      if (!stream) throw unsentPosition(headers['last-event-id'], query.last_event_id);
      return { status: 200, stream };
    },

    createEvent: async ({ body }, { principal }): Promise<Reply<'createEvent'>> => {
      const result = await batcher.submit(incoming(body, principal));
      if (result.outcome === 'conflict') {
        throw new DomainError('idempotency_conflict', `An event with event_id "${body.event_id}" already exists with different content.`);
      }
      return {
        status: 202,
        headers: result.outcome === 'duplicate' ? { 'Idempotent-Replayed': 'true' } : {},
        body: { message: ACCEPTED, event_id: body.event_id, received_at: result.receivedAt.toISOString() },
      };
    },

    createEventBatch: async ({ body }, { principal }): Promise<Reply<'createEventBatch'>> => {
      const outcomes = await Promise.all(body.events.map((event) => batcher.submit(incoming(event, principal))));
      const results = outcomes.map((result, index) => ({
        index,
        event_id: body.events[index]!.event_id,
        outcome: result.outcome,
        received_at: result.outcome === 'conflict' ? null : result.receivedAt.toISOString(),
      }));
      const count = (outcome: string) => results.filter((result) => result.outcome === outcome).length;
      return {
        status: 202,
        body: { message: ACCEPTED, accepted: count('accepted'), duplicates: count('duplicate'), conflicts: count('conflict'), results },
      };
    },

    listEvents: async ({ query }, { principal }): Promise<Reply<'listEvents'>> => {
      if (!isAdmin(principal) && query.owner !== undefined && query.owner !== principal.owner) {
        return { status: 200, body: { items: [], next_cursor: null } };
      }
      return {
        status: 200,
        body: await keysetPage(query, {
          cursor: { x: CURSOR_VALUE.xid8, i: CURSOR_VALUE.int8 },
          fetch: (after, limit) =>
            repository.listWithin({
              owner: ownerFilter(principal, query.owner),
              eventType: query.event_type,
              source: query.source,
              since: query.since === undefined ? undefined : new Date(query.since),
              until: query.until === undefined ? undefined : new Date(query.until),
              after: after ? { xid: after.x, id: after.i } : undefined,
              limit,
            }, EVENT_PAGE_MAX_BYTES),
          position: (row) => ({ x: row.xid, i: row.id }),
          present: toEvent,
          budget: { bytes: EVENT_PAGE_MAX_BYTES, sizeOf: (row) => row.data_bytes },
        }),
      };
    },

    getEvent: async ({ path, query }, { principal }): Promise<Reply<'getEvent'>> => {
      const notFound = () => DomainError.notFound(`No event with event_id "${path.event_id}" exists.`);
      if (!isAdmin(principal) && query.owner !== undefined && query.owner !== principal.owner) throw notFound();
      const owner = ownerFilter(principal, query.owner);
      // An admin without `owner`: its own owner's event first, else the newest of any owner.
      const row =
        owner !== undefined
          ? await batcher.get(owner, path.event_id)
          : ((await batcher.get(principal.owner, path.event_id)) ?? (await repository.getNewest(path.event_id)));
      if (!row) throw notFound();
      return { status: 200, body: toEvent(row) };
    },
  } satisfies Handlers;
}
