import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedWindowStore } from '../../src/auth/rate-limit.js';
import { RateLimitRepository, type WindowHits } from '../../src/db/rate-limits.js';
import { startWellInsideAMinute } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { engines } from '../support/service.js';

const MINUTE = 60_000;
const window = (minutes: number) => new Date(Date.UTC(2030, 0, 1) + minutes * MINUTE);
const byKeyAndWindow = (rows: WindowHits[]) => [...rows].sort((a, b) => a.key.localeCompare(b.key) || a.windowStart.getTime() - b.windowStart.getTime());

describe.each(engines())('RateLimitRepository on %s', (engine) => {
  let test: TestDatabase;
  let limits: RateLimitRepository;
  beforeAll(async () => {
    test = await openTestDatabase(engine);
    limits = new RateLimitRepository(test.database);
  });
  afterAll(async () => {
    await test?.close();
  });

  const stored = async (keys: string[]) =>
    byKeyAndWindow(
      (await test.database.db.selectFrom('rate_limit_windows').selectAll().where('key', 'in', keys).execute()).map((row) => ({ key: row.key, windowStart: row.window_start, hits: row.hits })),
    );

  it('adds every process-local count to the shared one and returns the totals', async () => {
    const [a, b] = [`key-${randomUUID()}`, `key-${randomUUID()}`];
    expect(byKeyAndWindow(await limits.add([{ key: a, windowStart: window(0), hits: 3 }, { key: b, windowStart: window(0), hits: 1 }]))).toEqual(
      byKeyAndWindow([{ key: a, windowStart: window(0), hits: 3 }, { key: b, windowStart: window(0), hits: 1 }]),
    );
    expect(byKeyAndWindow(await limits.add([{ key: a, windowStart: window(0), hits: 2 }, { key: a, windowStart: window(1), hits: 5 }]))).toEqual([
      { key: a, windowStart: window(0), hits: 5 },
      { key: a, windowStart: window(1), hits: 5 },
    ]);
    expect(await stored([a, b])).toEqual(
      byKeyAndWindow([
        { key: a, windowStart: window(0), hits: 5 },
        { key: a, windowStart: window(1), hits: 5 },
        { key: b, windowStart: window(0), hits: 1 },
      ]),
    );
    expect(await limits.add([])).toEqual([]);
  });

  it('deletes windows that started before the cutoff, keeping the one starting at it', async () => {
    const key = `key-${randomUUID()}`;
    await limits.add([0, 1, 2, 3].map((minutes) => ({ key, windowStart: window(minutes), hits: 1 })));
    await limits.deleteBefore(window(2));
    expect((await stored([key])).map((row) => row.windowStart)).toEqual([window(2), window(3)]);
  });

  it("resets one key's windows only", async () => {
    const [a, b] = [`key-${randomUUID()}`, `key-${randomUUID()}`];
    await limits.add([{ key: a, windowStart: window(0), hits: 4 }, { key: a, windowStart: window(1), hits: 4 }, { key: b, windowStart: window(0), hits: 2 }]);
    await limits.reset(a);
    expect(await stored([a, b])).toEqual([{ key: b, windowStart: window(0), hits: 2 }]);
  });

  it('counts the hits a sync is adding while the shared total has not answered yet', async () => {
    await startWellInsideAMinute();
    const store = new SharedWindowStore(limits, pino({ level: 'silent' }));
    const key = `key-${randomUUID()}`;
    for (let hit = 0; hit < 3; hit++) await store.increment(key);
    const syncing = store.sync();
    // The sync has moved the three hits out of the local count and awaits the database.
    expect((await store.get(key)).totalHits).toBe(3);
    await syncing;
    expect((await store.get(key)).totalHits).toBe(3);
    expect((await store.increment(key)).totalHits).toBe(4);
    await store.shutdown();
  });
});
