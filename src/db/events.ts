import { isDeepStrictEqual } from 'node:util';
import { sql } from 'kysely';
import type { Database } from './database.js';
import type { EventRow, JsonObject } from './schema.js';

export type EventSource = 'client' | 'system';

/** LISTEN/NOTIFY channel: events were committed (live event streams read them). */
export const EVENT_CHANGES = 'events';

export interface IncomingEvent {
  owner: string;
  event_id: string;
  event_type: string;
  event_data: JsonObject;
  source: EventSource;
}

export type IngestOutcome =
  | { outcome: 'accepted'; receivedAt: Date }
  | { outcome: 'duplicate'; receivedAt: Date }
  | { outcome: 'conflict' };

/** A position in the newest-first order: (inserting transaction, id). */
export interface EventPosition {
  xid: string;
  id: string;
}

export interface EventListQuery {
  /** Undefined: every owner (admins). */
  owner: string | undefined;
  eventType?: string | undefined;
  source?: EventSource | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  after?: EventPosition | undefined;
  limit: number;
}

const keyOf = (event: Pick<IncomingEvent, 'owner' | 'event_id'>) => `${event.owner}\u0000${event.event_id}`;
const sameContent = (a: Pick<IncomingEvent, 'event_type' | 'event_data'>, b: Pick<IncomingEvent, 'event_type' | 'event_data'>) => a.event_type === b.event_type && isDeepStrictEqual(a.event_data, b.event_data);

export class EventRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  /**
   * Stores events with one multi-row INSERT … ON CONFLICT DO NOTHING, committed before it returns,
   * and decides per event: accepted, duplicate (same owner, id and content) or conflict. Several
   * events with one id in the same call: the first is stored, the rest compare against it.
   */
  async ingest(events: readonly IncomingEvent[]): Promise<IngestOutcome[]> {
    const firstIndex = new Map<string, number>();
    const firsts: number[] = [];
    events.forEach((event, index) => {
      if (!firstIndex.has(keyOf(event))) {
        firstIndex.set(keyOf(event), index);
        firsts.push(index);
      }
    });

    const payload = JSON.stringify(firsts.map((index) => events[index]));
    const inserted = await sql<{ owner: string; event_id: string; received_at: Date }>`
      insert into events (owner, event_id, event_type, event_data, source)
      select owner, event_id, event_type, event_data, source
      from jsonb_to_recordset(${payload}::jsonb)
        as input(owner text, event_id text, event_type text, event_data jsonb, source text)
      on conflict (owner, event_id) do nothing
      returning owner, event_id, received_at, pg_notify(${this.database.notifications.channel(EVENT_CHANGES)}, '')`.execute(this.db);
    const insertedAt = new Map(inserted.rows.map((row) => [keyOf(row), row.received_at]));

    // What each id now holds: the event stored by this call, or the one stored before.
    const holders = new Map<string, { event: Pick<IncomingEvent, 'event_type' | 'event_data'>; receivedAt: Date }>();
    for (const index of firsts) {
      const event = events[index]!;
      const at = insertedAt.get(keyOf(event));
      if (at) holders.set(keyOf(event), { event, receivedAt: at });
    }
    const existing = firsts.filter((index) => !holders.has(keyOf(events[index]!)));
    if (existing.length > 0) {
      // A separate statement: its snapshot sees rows that other transactions committed meanwhile.
      const lookup = JSON.stringify(existing.map((index) => ({ owner: events[index]!.owner, event_id: events[index]!.event_id })));
      const rows = await sql<{ owner: string; event_id: string; event_type: string; event_data: JsonObject; received_at: Date }>`
        select e.owner, e.event_id, e.event_type, e.event_data, e.received_at
        from jsonb_to_recordset(${lookup}::jsonb) as input(owner text, event_id text)
        join events e on e.owner = input.owner and e.event_id = input.event_id`.execute(this.db);
      for (const row of rows.rows) holders.set(keyOf(row), { event: row, receivedAt: row.received_at });
    }

    const outcomes = events.map((event, index): IngestOutcome => {
      const holder = holders.get(keyOf(event));
      if (insertedAt.has(keyOf(event)) && firstIndex.get(keyOf(event)) === index) return { outcome: 'accepted', receivedAt: holder!.receivedAt };
      return holder && sameContent(holder.event, event) ? { outcome: 'duplicate', receivedAt: holder.receivedAt } : { outcome: 'conflict' };
    });
    return outcomes;
  }

  /** The owner's event with this id. */
  async get(owner: string, eventId: string): Promise<EventRow | undefined> {
    return this.db.selectFrom('events').selectAll().where('owner', '=', owner).where('event_id', '=', eventId).executeTakeFirst();
  }

  /** Several owners' events by id in one query, in the order asked (undefined where missing). */
  async getMany(keys: readonly { owner: string; eventId: string }[]): Promise<(EventRow | undefined)[]> {
    const wanted = JSON.stringify(keys.map((key) => ({ owner: key.owner, event_id: key.eventId })));
    const result = await sql<EventRow>`
      select e.* from jsonb_to_recordset(${wanted}::jsonb) as k(owner text, event_id text)
      join events e on e.owner = k.owner and e.event_id = k.event_id`.execute(this.db);
    const found = new Map(result.rows.map((row) => [keyOf(row), row]));
    return keys.map((key) => found.get(keyOf({ owner: key.owner, event_id: key.eventId })));
  }

  /** The most recent event with this id of any owner (admins). */
  async getNewest(eventId: string): Promise<EventRow | undefined> {
    return this.db
      .selectFrom('events')
      .selectAll()
      .where('event_id', '=', eventId)
      .orderBy('xid', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The position of the newest event every reader can see (where a live stream starts). */
  async head(): Promise<EventPosition> {
    const row = await this.db
      .selectFrom('events')
      .select(['xid', 'id'])
      .where('xid', '<', sql<string>`pg_snapshot_xmin(pg_current_snapshot())`)
      .orderBy('xid', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ?? { xid: '0', id: '0' };
  }

  /**
   * Events after `position`, oldest first, for live streams. Only the prefix older than every
   * running transaction is returned; `pending` says a younger row exists that will become
   * readable shortly (its transaction's NOTIFY may already have been sent).
   */
  async after(position: EventPosition, owner: string | undefined, eventType: string | undefined, limit: number): Promise<{ rows: EventRow[]; pending: boolean }> {
    let select = this.db
      .selectFrom('events')
      .selectAll()
      .select(sql<boolean>`xid < pg_snapshot_xmin(pg_current_snapshot())`.as('stable'))
      .where(sql<boolean>`(xid, id) > (${position.xid}::xid8, ${position.id}::bigint)`)
      .orderBy('xid')
      .orderBy('id')
      .limit(limit);
    if (owner !== undefined) select = select.where('owner', '=', owner);
    if (eventType !== undefined) select = select.where('event_type', '=', eventType);
    const rows = await select.execute();
    const firstUnstable = rows.findIndex((row) => !row.stable);
    const stableRows = firstUnstable < 0 ? rows : rows.slice(0, firstUnstable);
    return { rows: stableRows.map(({ stable: _stable, ...row }) => row), pending: firstUnstable >= 0 };
  }

  /**
   * Newest first by (inserting transaction, id). Only rows older than every transaction still
   * running are listed, so a row that commits late can never land behind a page already read.
   */
  async list(query: EventListQuery): Promise<EventRow[]> {
    return this.listed(query).execute();
  }

  /**
   * The same rows, but only as many as fit in about `maxBytes` of event_data: the rows that start
   * within it, and one more (so a caller knows the listing goes on). Sizes are measured in the
   * database, so rows past the budget are never read out of it.
   */
  async listWithin(query: EventListQuery, maxBytes: number): Promise<(EventRow & { data_bytes: number })[]> {
    const limited = this.listed(query).select(sql<number>`octet_length(event_data::text)`.as('data_bytes'));
    const sized = this.db
      .selectFrom(limited.as('limited'))
      .selectAll()
      .select(sql<string>`coalesce(sum(data_bytes) over (order by xid desc, id desc rows between unbounded preceding and 2 preceding), 0)`.as('bytes_before'));
    const rows = await this.db
      .selectFrom(sized.as('sized'))
      .selectAll()
      .where(sql<boolean>`bytes_before < ${maxBytes}`)
      .orderBy('xid', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(({ bytes_before: _before, ...row }) => ({ ...row, data_bytes: Number(row.data_bytes) }));
  }

  private listed(query: EventListQuery) {
    let select = this.db
      .selectFrom('events')
      .selectAll()
      .where('xid', '<', sql<string>`pg_snapshot_xmin(pg_current_snapshot())`)
      .orderBy('xid', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit);
    if (query.owner !== undefined) select = select.where('owner', '=', query.owner);
    if (query.eventType !== undefined) select = select.where('event_type', '=', query.eventType);
    if (query.source !== undefined) select = select.where('source', '=', query.source);
    if (query.since !== undefined) select = select.where('received_at', '>=', query.since);
    if (query.until !== undefined) select = select.where('received_at', '<', query.until);
    if (query.after !== undefined) {
      const { xid, id } = query.after;
      select = select.where(sql<boolean>`(xid, id) < (${xid}::xid8, ${id}::bigint)`);
    }
    return select;
  }
}
