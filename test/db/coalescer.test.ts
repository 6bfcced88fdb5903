import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/db/coalescer.js';
import { isDatabaseUnavailable } from '../../src/db/errors.js';
import { EventRepository, type IncomingEvent, type IngestOutcome } from '../../src/db/events.js';
import { OPENS_A_DATABASE, openTestDatabase, type TestDatabase } from '../support/database.js';
import { engines } from '../support/service.js';

/**
 * The Coalescer is a pure scheduling unit: how it batches is pinned with a `run` function whose
 * calls the test finishes by hand. How it fails is pinned with the real EventRepository.ingest,
 * on a statement the database refuses and on a closed database.
 */
interface Call<In> {
  inputs: In[];
  finish(): void;
}

function manualRun<In, Out>(answer: (input: In) => Out) {
  const calls: Call<In>[] = [];
  const watchers: { count: number; resolve: () => void }[] = [];
  const run = (inputs: In[]) =>
    new Promise<Out[]>((resolve) => {
      calls.push({ inputs, finish: () => resolve(inputs.map(answer)) });
      for (const watcher of watchers.filter((candidate) => calls.length >= candidate.count)) watcher.resolve();
    });
  /** Resolves once `run` has been called `count` times in all. */
  const untilCalls = (count: number) => new Promise<void>((resolve) => (calls.length >= count ? resolve() : watchers.push({ count, resolve })));
  return { run, calls, untilCalls };
}

/** One full turn of the event loop: the Coalescer flushes on setImmediate, so any flush is done after it. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Coalescer scheduling', () => {
  it('sends what is submitted in one turn as one call, and gives each caller its own result', async () => {
    const { run, calls, untilCalls } = manualRun((input: number) => input * 10);
    const coalescer = new Coalescer(run, { maxBatch: 100, maxInFlight: 4 });
    const results = [1, 2, 3, 4, 5].map((input) => coalescer.submit(input));
    await untilCalls(1);
    await nextTurn();
    expect(calls.map((call) => call.inputs)).toEqual([[1, 2, 3, 4, 5]]);
    calls[0]!.finish();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50]);
  });

  it('splits a burst into calls of at most maxBatch, in flight together', async () => {
    const { run, calls, untilCalls } = manualRun((input: string) => input.toUpperCase());
    const coalescer = new Coalescer(run, { maxBatch: 3, maxInFlight: 10 });
    const results = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((input) => coalescer.submit(input));
    await untilCalls(3);
    expect(calls.map((call) => call.inputs)).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    // Finished out of order, each caller still gets the answer to its own input.
    for (const call of [...calls].reverse()) call.finish();
    expect(await Promise.all(results)).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
  });

  it('holds items back while maxInFlight calls run, then sends them together', async () => {
    const { run, calls, untilCalls } = manualRun((input: number) => -input);
    const coalescer = new Coalescer(run, { maxBatch: 2, maxInFlight: 1 });
    const first = coalescer.submit(1);
    await untilCalls(1);
    const later = [2, 3, 4, 5, 6].map((input) => coalescer.submit(input));
    await nextTurn();
    expect(calls).toHaveLength(1);

    calls[0]!.finish();
    expect(await first).toBe(-1);
    await untilCalls(2);
    await nextTurn();
    expect(calls.map((call) => call.inputs)).toEqual([[1], [2, 3]]);

    calls[1]!.finish();
    await untilCalls(3);
    calls[2]!.finish();
    await untilCalls(4);
    calls[3]!.finish();
    expect(calls.map((call) => call.inputs)).toEqual([[1], [2, 3], [4, 5], [6]]);
    expect(await Promise.all(later)).toEqual([-2, -3, -4, -5, -6]);
  });
});

const event = (eventId: string, eventData: Record<string, unknown>): IncomingEvent => ({
  owner: 'coalescer',
  event_id: eventId,
  event_type: 'coalesced',
  event_data: eventData,
  source: 'client',
});

/** The repository's ingest, counting the calls it gets and their sizes. */
function countedIngest(repository: EventRepository) {
  const sizes: number[] = [];
  const run = (events: IncomingEvent[]) => {
    sizes.push(events.length);
    return repository.ingest(events);
  };
  return { run, sizes };
}

describe.each(engines())('Coalescer failures on %s', (engine) => {
  let test: TestDatabase;
  let events: EventRepository;
  beforeAll(async () => {
    test = await openTestDatabase(engine);
    events = new EventRepository(test.database);
  });
  afterAll(async () => {
    await test?.close();
  });

  it('retries a failing batch item by item, so one bad item fails alone', async () => {
    const { run, sizes } = countedIngest(events);
    const coalescer = new Coalescer(run, { maxBatch: 100, maxInFlight: 1 });
    // PostgreSQL cannot store U+0000 in jsonb: the batch's one INSERT fails for every row in it.
    const submitted = [event('good-1', { n: 1 }), event('bad', { text: 'a\u0000b' }), event('good-2', { n: 2 })].map((item) => coalescer.submit(item));
    const [good1, bad, good2] = await Promise.allSettled(submitted);

    expect(sizes).toEqual([3, 1, 1, 1]);
    expect(good1).toEqual({ status: 'fulfilled', value: { outcome: 'accepted', receivedAt: expect.any(Date) } satisfies IngestOutcome });
    expect(good2).toEqual({ status: 'fulfilled', value: { outcome: 'accepted', receivedAt: expect.any(Date) } satisfies IngestOutcome });
    expect(bad?.status).toBe('rejected');
    expect(isDatabaseUnavailable((bad as PromiseRejectedResult).reason)).toBe(false);
    const stored = await events.getMany(['good-1', 'bad', 'good-2'].map((eventId) => ({ owner: 'coalescer', eventId })));
    expect(stored.map((row) => row?.event_data)).toEqual([{ n: 1 }, undefined, { n: 2 }]);
  });

  it('fails the whole batch at once when the database is unavailable, without retrying item by item', OPENS_A_DATABASE, async () => {
    const closed = await openTestDatabase(engine, { migrate: false });
    await closed.close();
    const { run, sizes } = countedIngest(new EventRepository(closed.database));
    const coalescer = new Coalescer(run, { maxBatch: 100, maxInFlight: 1 });
    const outcomes = await Promise.allSettled([event('x-1', {}), event('x-2', {}), event('x-3', {})].map((item) => coalescer.submit(item)));

    expect(sizes).toEqual([3]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect(isDatabaseUnavailable((outcome as PromiseRejectedResult).reason)).toBe(true);
    }
  });
});
