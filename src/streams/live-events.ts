import type { EventPosition, EventRepository } from '../db/events.js';
import type { Notifications } from '../db/notifications.js';
import { followChannel } from '../db/subscription.js';
import type { EventRow } from '../db/schema.js';
import { toEvent } from '../presenters/events.js';
import type { EventStream } from './event-stream.js';
import { Wakeup } from './wakeup.js';

/** How soon to look again when a committed event waits behind an older running transaction. */
const PENDING_RECHECK_MS = 25;
const PAGE = 500;
/**
 * Rows a stream's client may fall behind the hub before the hub stops keeping them for it: past
 * this the stream reads them back from the table itself (they are durable), so a client that stops
 * reading holds at most this many rows in memory, not every event since it stalled.
 */
const BUFFERED_ROWS = 100;

export function encodePosition(position: EventPosition): string {
  return `${position.xid}.${position.id}`;
}

const after = (a: EventPosition, b: EventPosition) => BigInt(a.xid) > BigInt(b.xid) || (a.xid === b.xid && BigInt(a.id) > BigInt(b.id));

interface Subscriber {
  owner: string | undefined;
  eventType: string | undefined;
  /** Rows the hub delivered while the subscriber was catching up or writing. */
  buffer: EventRow[];
  /** The buffer overflowed and was dropped: the stream reads from the table up to the present. */
  lagging: boolean;
  wakeup: Wakeup;
}

/**
 * Live events for every stream of this process from one reader: on each NOTIFY of new events it
 * reads them once (in commit order, only past every running transaction) and hands each to the
 * streams whose owner and type match. However many streams are open, a batch of events costs one
 * query, not one per stream.
 */
export class LiveEventHub {
  private readonly subscribers = new Set<Subscriber>();
  /**
   * Each delivered row's frame data, serialized once for all the streams it goes to: 300 streams
   * of a 200 KB event serialized it 300 times and kept GET /health waiting about a second.
   */
  private readonly serialized = new WeakMap<EventRow, string>();
  private readonly wakeup = new Wakeup();
  private position: EventPosition | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private unfollow: (() => Promise<void>) | undefined;

  constructor(
    private readonly events: EventRepository,
    private readonly notifications: Notifications,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.unfollow = await followChannel(this.notifications, this.channel, () => this.wakeup.wake());
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup.wake();
    await this.unfollow?.();
    await this.running;
    for (const subscriber of this.subscribers) subscriber.wakeup.wake();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let pending = false;
      if (this.subscribers.size > 0 && this.position) {
        try {
          const page = await this.events.after(this.position, undefined, undefined, PAGE);
          for (const row of page.rows) this.deliver(row);
          if (page.rows.length > 0) this.position = positionOf(page.rows.at(-1)!);
          if (page.rows.length === PAGE) continue;
          pending = page.pending;
        } catch {
          // The database is away; the next notification or reconnect tries again.
          pending = true;
        }
      }
      await this.wakeup.wait(pending ? PENDING_RECHECK_MS : undefined);
    }
  }

  private deliver(row: EventRow): void {
    for (const subscriber of this.subscribers) {
      if ((subscriber.owner === undefined || subscriber.owner === row.owner) && (subscriber.eventType === undefined || subscriber.eventType === row.event_type)) {
        if (subscriber.buffer.length < BUFFERED_ROWS) subscriber.buffer.push(row);
        else Object.assign(subscriber, { buffer: [], lagging: true });
        subscriber.wakeup.wake();
      }
    }
  }

  private serialize(row: EventRow): string {
    let data = this.serialized.get(row);
    if (data === undefined) {
      data = JSON.stringify(toEvent(row));
      this.serialized.set(row, data);
    }
    return data;
  }

  /**
   * A stream of new events (after `from`, or from now on). Rows up to the hub's position at
   * subscription are read by the stream itself (catch-up); later ones come from the hub.
   *
   * It attaches before it resolves, so before the response's headers go out: an event written
   * once a client has the response is on its stream. The returned stream must be served (its end
   * detaches it). Undefined when `from` is past every committed event: no stream sent it.
   */
  async stream(from: EventPosition | undefined, filter: { owner: string | undefined; eventType: string | undefined }): Promise<EventStream | undefined> {
    const subscriber: Subscriber = { ...filter, buffer: [], lagging: false, wakeup: new Wakeup() };
    // While nobody listens the hub reads nothing; the first subscriber moves it to the newest event.
    // The position must never move while others are subscribed, or they would miss events.
    const head = await this.events.head();
    // Every position a stream sends is at or before the head; one past it was never sent.
    if (from !== undefined && after(from, head)) return undefined;
    if (this.subscribers.size === 0) this.position = head;
    const attachedAt = this.position ?? head;
    this.subscribers.add(subscriber);
    this.wakeup.wake();
    return async (writer) => {
      const unwatch = subscriber.wakeup.wakeOnAbort(writer.signal, writer.shutdown);
      let sent = from ?? attachedAt;
      const send = async (row: EventRow) => {
        const position = positionOf(row);
        if (!after(position, sent)) return;
        sent = position;
        await writer.send({ id: encodePosition(position), event: 'event', data: this.serialize(row), raw: true });
      };
      // Reads the rows after what was sent from the table, up to `until` (or all readable ones).
      const catchUp = async (until: EventPosition | undefined) => {
        while ((until === undefined || after(until, sent)) && !writer.signal.aborted) {
          const page = await this.events.after(sent, filter.owner, filter.eventType, BUFFERED_ROWS);
          const due = until === undefined ? page.rows : page.rows.filter((row) => !after(positionOf(row), until));
          for (const row of due) await send(row);
          if (due.length < page.rows.length || page.rows.length < BUFFERED_ROWS) return;
        }
      };
      try {
        await catchUp(attachedAt);
        for (;;) {
          // Rows the hub dropped are in the table; those it buffers since are newer, or skipped by send().
          if (subscriber.lagging) {
            subscriber.lagging = false;
            await catchUp(undefined);
          }
          while (subscriber.buffer.length > 0 && !subscriber.lagging) await send(subscriber.buffer.shift()!);
          if (subscriber.lagging) continue;
          if (writer.signal.aborted || this.stopped) return;
          if (writer.shutdown.aborted) {
            await writer.send({ event: 'end', data: { reason: 'shutting_down' } });
            return;
          }
          await subscriber.wakeup.wait();
        }
      } finally {
        unwatch();
        this.subscribers.delete(subscriber);
      }
    };
  }
}

function positionOf(row: EventRow): EventPosition {
  return { xid: row.xid, id: row.id };
}
