import type { EventPosition, EventRepository } from '../db/events.js';
import type { Notifications } from '../db/notifications.js';
import { followChannel } from '../db/subscription.js';
import type { EventRow } from '../db/schema.js';
import { toEvent } from '../handlers/events.js';
import type { EventStream } from '../http/event-stream.js';
import { Wakeup } from '../queue/wakeup.js';
import { aborted } from './follow.js';

const FOREVER_MS = 2_147_483_647;
/** How soon to look again when a committed event waits behind an older running transaction. */
const PENDING_RECHECK_MS = 25;
const PAGE = 500;

export function encodePosition(position: EventPosition): string {
  return `${position.xid}.${position.id}`;
}

export function decodePosition(value: string | string[] | undefined): EventPosition | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const match = text === undefined ? null : /^(\d{1,20})\.(\d{1,19})$/.exec(text);
  return match ? { xid: match[1]!, id: match[2]! } : undefined;
}

const after = (a: EventPosition, b: EventPosition) => BigInt(a.xid) > BigInt(b.xid) || (a.xid === b.xid && BigInt(a.id) > BigInt(b.id));

interface Subscriber {
  owner: string | undefined;
  eventType: string | undefined;
  /** Rows the hub delivered while the subscriber was catching up or writing. */
  buffer: EventRow[];
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
      await this.wakeup.wait(pending ? PENDING_RECHECK_MS : FOREVER_MS);
    }
  }

  private deliver(row: EventRow): void {
    for (const subscriber of this.subscribers) {
      if ((subscriber.owner === undefined || subscriber.owner === row.owner) && (subscriber.eventType === undefined || subscriber.eventType === row.event_type)) {
        subscriber.buffer.push(row);
        subscriber.wakeup.wake();
      }
    }
  }

  /**
   * A stream of new events (after `from`, or from now on). Rows up to the hub's position at
   * subscription are read by the stream itself (catch-up); later ones come from the hub.
   */
  stream(from: EventPosition | undefined, filter: { owner: string | undefined; eventType: string | undefined }): EventStream {
    return async (writer) => {
      const subscriber: Subscriber = { ...filter, buffer: [], wakeup: new Wakeup() };
      // While nobody listens the hub reads nothing; the first subscriber moves it to the newest event.
      // The position must never move while others are subscribed, or they would miss events.
      const head = await this.events.head();
      if (this.subscribers.size === 0) this.position = head;
      const attachedAt = this.position ?? head;
      this.subscribers.add(subscriber);
      this.wakeup.wake();
      const stop = Promise.race([aborted(writer.signal), aborted(writer.shutdown)]);
      let sent = from ?? attachedAt;
      const send = async (row: EventRow) => {
        const position = positionOf(row);
        if (!after(position, sent)) return;
        sent = position;
        await writer.send({ id: encodePosition(position), event: 'event', data: toEvent(row) });
      };
      try {
        while (after(attachedAt, sent)) {
          const page = await this.events.after(sent, filter.owner, filter.eventType, PAGE);
          const due = page.rows.filter((row) => !after(positionOf(row), attachedAt));
          for (const row of due) await send(row);
          if (due.length < page.rows.length || page.rows.length < PAGE) break;
        }
        for (;;) {
          while (subscriber.buffer.length > 0) await send(subscriber.buffer.shift()!);
          if (writer.signal.aborted || this.stopped) return;
          if (writer.shutdown.aborted) {
            await writer.send({ event: 'end', data: { reason: 'shutting_down' } });
            return;
          }
          await Promise.race([subscriber.wakeup.wait(FOREVER_MS), stop]);
        }
      } finally {
        this.subscribers.delete(subscriber);
      }
    };
  }
}

function positionOf(row: EventRow): EventPosition {
  return { xid: row.xid, id: row.id };
}
