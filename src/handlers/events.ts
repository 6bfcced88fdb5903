import { isAdmin, type Principal, visibleOwner } from '../auth/principal.js';
import type { EventBatcher } from '../db/event-batcher.js';
import type { EventRepository, IncomingEvent } from '../db/events.js';
import { findUnstorableJson } from '../db/jsonb.js';
import type { EventRow } from '../db/schema.js';
import type { SchemaEvent, SchemaEventIn } from '../generated/api.js';
import { CURSOR_VALUE, decodeCursor, encodeCursor } from '../http/cursor.js';
import type { Handlers, Reply } from '../http/operations.js';
import { type FieldError, PROBLEM_TYPES, ProblemError } from '../http/problem.js';
import { decodePosition, type LiveEventHub } from '../streams/live-events.js';

/** How deep event_data may nest; the object itself is level 1 (documented in the spec). */
export const EVENT_DATA_MAX_DEPTH = 32;
const ACCEPTED = 'Data received!';

export function toEvent(row: EventRow): SchemaEvent {
  return {
    event_id: row.event_id,
    event_type: row.event_type,
    event_data: row.event_data,
    source: row.source,
    owner: row.owner,
    received_at: row.received_at.toISOString(),
  };
}

/** Business rules beyond the schema: what jsonb can store, and the nesting limit. */
function storageErrors(event: SchemaEventIn, prefix: string): FieldError[] {
  return findUnstorableJson(event.event_data, EVENT_DATA_MAX_DEPTH).map((problem) => ({
    location: 'body',
    pointer: `${prefix}/event_data${problem.pointer}`,
    message: problem.message,
  }));
}

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
      const from = decodePosition(headers['last-event-id'] ?? query.last_event_id);
      return { status: 200, stream: live.stream(from, { owner: visibleOwner(principal), eventType: query.event_type }) };
    },

    createEvent: async ({ body }, { principal }): Promise<Reply<'createEvent'>> => {
      const errors = storageErrors(body, '');
      if (errors.length > 0) throw ProblemError.validation(errors);
      const result = await batcher.submit(incoming(body, principal));
      if (result.outcome === 'conflict') {
        throw new ProblemError({
          status: 409,
          type: PROBLEM_TYPES.idempotencyConflict,
          detail: `An event with event_id "${body.event_id}" already exists with different content.`,
        });
      }
      return {
        status: 202,
        headers: result.outcome === 'duplicate' ? { 'Idempotent-Replayed': 'true' } : {},
        body: { message: ACCEPTED, event_id: body.event_id, received_at: result.receivedAt.toISOString() },
      };
    },

    createEventBatch: async ({ body }, { principal }): Promise<Reply<'createEventBatch'>> => {
      const errors = body.events.flatMap((event, index) => storageErrors(event, `/events/${index}`));
      if (errors.length > 0) throw ProblemError.validation(errors);
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
      const limit = query.limit ?? 50;
      const owner = ownerFilter(principal, query.owner);
      if (!isAdmin(principal) && query.owner !== undefined && query.owner !== principal.owner) {
        return { status: 200, body: { items: [], next_cursor: null } };
      }
      const cursor = decodeCursor(query.cursor, { x: CURSOR_VALUE.xid8, i: CURSOR_VALUE.int8 });
      const rows = await repository.list({
        owner,
        eventType: query.event_type,
        source: query.source,
        since: query.since === undefined ? undefined : new Date(query.since),
        until: query.until === undefined ? undefined : new Date(query.until),
        after: cursor ? { xid: cursor.x, id: cursor.i } : undefined,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        status: 200,
        body: { items: page.map(toEvent), next_cursor: rows.length > limit && last ? encodeCursor({ x: last.xid, i: last.id }) : null },
      };
    },

    getEvent: async ({ path, query }, { principal }): Promise<Reply<'getEvent'>> => {
      const notFound = () => ProblemError.notFound(`No event with event_id "${path.event_id}" exists.`);
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
