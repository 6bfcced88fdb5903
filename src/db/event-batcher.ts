import { randomUUID } from 'node:crypto';
import { Coalescer, type CoalescerOptions } from './coalescer.js';
import type { EventRepository, IncomingEvent, IngestOutcome } from './events.js';
import type { EventRow, JsonObject } from './schema.js';

/**
 * Event writes and id lookups, coalesced: concurrent POSTs share one INSERT (group commit, each
 * answered only once its own row is committed) and concurrent reads by id share one SELECT.
 */
export class EventBatcher {
  private readonly writes: Coalescer<IncomingEvent, IngestOutcome>;
  private readonly reads: Coalescer<{ owner: string; eventId: string }, EventRow | undefined>;

  constructor(repository: EventRepository, options: CoalescerOptions) {
    this.writes = new Coalescer((events) => repository.ingest(events), options);
    this.reads = new Coalescer((keys) => repository.getMany(keys), options);
  }

  submit(event: IncomingEvent): Promise<IngestOutcome> {
    return this.writes.submit(event);
  }

  get(owner: string, eventId: string): Promise<EventRow | undefined> {
    return this.reads.submit({ owner, eventId });
  }

  /** Records one of the service's own events (seed 003's per-route log) for `owner`. */
  recordSystem(owner: string, eventType: string, eventData: JsonObject): Promise<IngestOutcome> {
    return this.submit({ owner, event_id: `sys-${randomUUID()}`, event_type: eventType, event_data: eventData, source: 'system' });
  }
}
