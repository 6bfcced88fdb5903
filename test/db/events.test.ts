import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_CHANGES, type EventListQuery, type EventPosition, EventRepository, type IncomingEvent } from '../../src/db/events.js';
import type { EventRow } from '../../src/db/schema.js';
import { eventually, NotificationRecorder, openTestDatabase, type TestDatabase, withOtherConnection } from '../support/database.js';
import { engines } from '../support/service.js';

describe.each(engines())('EventRepository on %s', (engine) => {
  let test: TestDatabase;
  let events: EventRepository;
  beforeAll(async () => {
    test = await openTestDatabase(engine);
    events = new EventRepository(test.database);
  });
  afterAll(async () => {
    await test?.close();
  });

  /** Each test writes as an owner of its own, so that tests do not see each other's events. */
  const newOwner = () => `owner-${randomUUID()}`;
  const incoming = (owner: string, eventId: string, eventData: Record<string, unknown> = {}, extra: Partial<IncomingEvent> = {}): IncomingEvent => ({
    owner,
    event_id: eventId,
    event_type: 'page_view',
    event_data: eventData,
    source: 'client',
    ...extra,
  });
  const positionOf = (row: EventRow | undefined): EventPosition => {
    if (!row) throw new Error('no such event');
    return { xid: row.xid, id: row.id };
  };

  /**
   * Listings show a row once it is older than every running transaction on the server, and other
   * test files' transactions run on the same Postgres: waits until a sentinel written now is listed,
   * after which everything committed before it is listed too.
   */
  async function untilListed(): Promise<EventRow> {
    const owner = `sentinel-${randomUUID()}`;
    await events.ingest([incoming(owner, 'sentinel')]);
    const [row] = await eventually(
      () => events.list({ owner, limit: 1 }),
      (rows) => rows.length === 1,
    );
    return row!;
  }

  describe('ingest', () => {
    it('accepts a new event, stores it as sent, and notifies after commit', async () => {
      const owner = newOwner();
      const notes = await NotificationRecorder.listen(test.database, EVENT_CHANGES);
      try {
        const [outcome] = await events.ingest([incoming(owner, 'e-1', { path: '/', nested: { n: [1, 2] } })]);
        const row = await events.get(owner, 'e-1');
        expect(row).toMatchObject({ owner, event_id: 'e-1', event_type: 'page_view', event_data: { path: '/', nested: { n: [1, 2] } }, source: 'client' });
        expect(outcome).toEqual({ outcome: 'accepted', receivedAt: row!.received_at });
        expect(await notes.drain()).toEqual(['']);
      } finally {
        await notes.stop();
      }
    });

    it('answers duplicate for the same id and content (in any key order) with the first receipt time', async () => {
      const owner = newOwner();
      const [first] = await events.ingest([incoming(owner, 'e-1', { a: 1, b: [true, null] })]);
      const [again] = await events.ingest([incoming(owner, 'e-1', { b: [true, null], a: 1 })]);
      const stored = await events.get(owner, 'e-1');
      expect(first).toEqual({ outcome: 'accepted', receivedAt: stored!.received_at });
      expect(again).toEqual({ outcome: 'duplicate', receivedAt: stored!.received_at });
    });

    it('answers conflict for the same id with other content, and keeps what was stored', async () => {
      const owner = newOwner();
      await events.ingest([incoming(owner, 'e-1', { a: 1 })]);
      const outcomes = await events.ingest([incoming(owner, 'e-1', { a: 2 }), incoming(owner, 'e-1', { a: 1 }, { event_type: 'other' })]);
      expect(outcomes).toEqual([{ outcome: 'conflict' }, { outcome: 'conflict' }]);
      expect(await events.get(owner, 'e-1')).toMatchObject({ event_type: 'page_view', event_data: { a: 1 } });
    });

    it('keeps ids apart per owner', async () => {
      const [alice, bob] = [newOwner(), newOwner()];
      const outcomes = await events.ingest([incoming(alice, 'shared', { who: 'alice' }), incoming(bob, 'shared', { who: 'bob' })]);
      expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['accepted', 'accepted']);
      expect((await events.get(alice, 'shared'))?.event_data).toEqual({ who: 'alice' });
      expect((await events.get(bob, 'shared'))?.event_data).toEqual({ who: 'bob' });
    });

    it('stores the first of several events with one id in one call and compares the rest against it', async () => {
      const owner = newOwner();
      const outcomes = await events.ingest([
        incoming(owner, 'twice', { v: 1 }),
        incoming(owner, 'other', { v: 0 }),
        incoming(owner, 'twice', { v: 1 }),
        incoming(owner, 'twice', { v: 2 }),
      ]);
      const stored = await events.get(owner, 'twice');
      expect(stored?.event_data).toEqual({ v: 1 });
      expect(outcomes).toEqual([
        { outcome: 'accepted', receivedAt: stored!.received_at },
        { outcome: 'accepted', receivedAt: expect.any(Date) },
        { outcome: 'duplicate', receivedAt: stored!.received_at },
        { outcome: 'conflict' },
      ]);
      await untilListed();
      expect(await events.list({ owner, limit: 10 })).toHaveLength(2);
    });

    it('compares with what an earlier call stored, in a call that also accepts new events', async () => {
      const owner = newOwner();
      await events.ingest([incoming(owner, 'old', { v: 1 })]);
      const outcomes = await events.ingest([incoming(owner, 'new', {}), incoming(owner, 'old', { v: 1 }), incoming(owner, 'old', { v: 9 })]);
      expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['accepted', 'duplicate', 'conflict']);
    });

    it.runIf(engine === 'postgres')('has committed before it returns: another connection reads the event at once', async () => {
      const owner = newOwner();
      await events.ingest([incoming(owner, 'committed', { ok: true })]);
      const rows = await withOtherConnection(test, async (client) => (await client.query('select event_data from events where owner = $1 and event_id = $2', [owner, 'committed'])).rows);
      expect(rows).toEqual([{ event_data: { ok: true } }]);
    });
  });

  describe('reads', () => {
    it('lists newest first by transaction, then by id within one call, with filters', async () => {
      const owner = newOwner();
      await events.ingest([incoming(owner, 'a'), incoming(owner, 'b', {}, { event_type: 'click' })]);
      await events.ingest([incoming(owner, 'c', {}, { source: 'system' })]);
      await events.ingest([incoming(owner, 'd')]);
      await untilListed();

      const ids = async (query: Partial<EventListQuery>) => (await events.list({ owner, limit: 50, ...query })).map((row) => row.event_id);
      expect(await ids({})).toEqual(['d', 'c', 'b', 'a']);
      expect(await ids({ limit: 2 })).toEqual(['d', 'c']);
      expect(await ids({ eventType: 'click' })).toEqual(['b']);
      expect(await ids({ source: 'system' })).toEqual(['c']);
      expect(await ids({ after: positionOf(await events.get(owner, 'c')) })).toEqual(['b', 'a']);
      // since is inclusive, until exclusive (PGlite's clock may give sequential writes one time).
      const c = await events.get(owner, 'c');
      expect(await ids({ since: c!.received_at })).toEqual(expect.arrayContaining(['d', 'c']));
      const untilC = await ids({ until: c!.received_at });
      expect(untilC).not.toContain('c');
      expect(untilC).not.toContain('d');
      expect(await ids({ owner: newOwner() })).toEqual([]);
    });

    it('reads events after a position oldest first, for live streams', async () => {
      const owner = newOwner();
      await events.ingest([incoming(owner, 'a')]);
      await events.ingest([incoming(owner, 'b', {}, { event_type: 'click' }), incoming(owner, 'c')]);
      await events.ingest([incoming(owner, 'd')]);
      await untilListed();

      const start = positionOf(await events.get(owner, 'a'));
      const read = async (limit: number, eventType?: string) => {
        const { rows, pending } = await events.after(start, owner, eventType, limit);
        return { ids: rows.map((row) => row.event_id), pending };
      };
      expect(await read(10)).toEqual({ ids: ['b', 'c', 'd'], pending: false });
      expect(await read(2)).toEqual({ ids: ['b', 'c'], pending: false });
      expect(await read(10, 'click')).toEqual({ ids: ['b'], pending: false });
      expect((await events.after(start, undefined, undefined, 10)).rows.map((row) => row.event_id)).toEqual(expect.arrayContaining(['b', 'c', 'd']));
      const end = positionOf(await events.get(owner, 'd'));
      expect(await events.after(end, owner, undefined, 10)).toEqual({ rows: [], pending: false });
    });

    it('puts the head at the newest event every reader can see', async () => {
      const sentinel = await untilListed();
      expect(await events.head()).toEqual(positionOf(sentinel));
      expect(await events.after(await events.head(), undefined, undefined, 10)).toEqual({ rows: [], pending: false });
    });

    it('gets many events by owner and id in the order asked, undefined where missing', async () => {
      const [alice, bob] = [newOwner(), newOwner()];
      await events.ingest([incoming(alice, 'x', { n: 1 }), incoming(bob, 'x', { n: 2 }), incoming(bob, 'y', { n: 3 })]);
      const rows = await events.getMany([
        { owner: bob, eventId: 'y' },
        { owner: alice, eventId: 'y' },
        { owner: alice, eventId: 'x' },
        { owner: bob, eventId: 'x' },
        { owner: bob, eventId: 'y' },
      ]);
      expect(rows.map((row) => row?.event_data)).toEqual([{ n: 3 }, undefined, { n: 1 }, { n: 2 }, { n: 3 }]);
      expect(await events.getMany([])).toEqual([]);
    });

    it('finds the newest event with an id across owners', async () => {
      const [alice, bob] = [newOwner(), newOwner()];
      const eventId = `shared-${randomUUID()}`;
      await events.ingest([incoming(alice, eventId, { who: 'alice' })]);
      await events.ingest([incoming(bob, eventId, { who: 'bob' })]);
      expect((await events.getNewest(eventId))?.owner).toBe(bob);
      expect(await events.getNewest(`missing-${randomUUID()}`)).toBeUndefined();
    });
  });

  describe.runIf(engine === 'postgres')('the xid horizon', () => {
    it('lists nothing committed after a transaction that is still running, until it ends', async () => {
      const owner = newOwner();
      await events.ingest([incoming(owner, 'before')]);
      const sentinel = await untilListed();
      const before = positionOf(await events.get(owner, 'before'));

      await withOtherConnection(test, async (client) => {
        await client.query('begin');
        // The open transaction takes an id older than the write below.
        await client.query('select pg_current_xact_id()');
        await events.ingest([incoming(owner, 'late')]);
        expect(await events.get(owner, 'late')).toBeDefined();

        expect((await events.list({ owner, limit: 10 })).map((row) => row.event_id)).toEqual(['before']);
        expect(await events.after(before, owner, undefined, 10)).toEqual({ rows: [], pending: true });
        expect(await events.head()).toEqual(positionOf(sentinel));
        await client.query('rollback');
      });

      const listed = await eventually(
        () => events.list({ owner, limit: 10 }),
        (rows) => rows.length === 2,
      );
      expect(listed.map((row) => row.event_id)).toEqual(['late', 'before']);
      expect((await events.after(before, owner, undefined, 10)).rows.map((row) => row.event_id)).toEqual(['late']);
    });
  });
});
