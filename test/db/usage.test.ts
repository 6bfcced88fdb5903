import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowAt } from '../../src/gateway/accounting.js';
import { type UsageIncrement, UsageRepository } from '../../src/db/usage.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { engines } from '../support/service.js';

const at = new Date('2030-01-15T10:20:30Z');
const increment = (overrides: Partial<UsageIncrement>): UsageIncrement => ({
  keyId: 'key_a',
  owner: 'acme',
  model: 'fast',
  day: '2030-01-15',
  promptTokens: 10,
  completionTokens: 5,
  error: false,
  estimated: false,
  windows: [],
  ...overrides,
});

describe('budget windows', () => {
  it('are UTC calendar periods, weeks from Monday', () => {
    expect(windowAt('minute', at)).toEqual({ start: new Date('2030-01-15T10:20:00Z'), end: new Date('2030-01-15T10:21:00Z') });
    expect(windowAt('day', at)).toEqual({ start: new Date('2030-01-15T00:00:00Z'), end: new Date('2030-01-16T00:00:00Z') });
    // 2030-01-15 is a Tuesday.
    expect(windowAt('week', at)).toEqual({ start: new Date('2030-01-14T00:00:00Z'), end: new Date('2030-01-21T00:00:00Z') });
    expect(windowAt('week', new Date('2030-01-20T23:59:59Z')).start).toEqual(new Date('2030-01-14T00:00:00Z'));
    expect(windowAt('month', new Date('2030-12-31T23:00:00Z'))).toEqual({ start: new Date('2030-12-01T00:00:00Z'), end: new Date('2031-01-01T00:00:00Z') });
  });
});

describe.each(engines())('UsageRepository on %s', (engine) => {
  let test: TestDatabase;
  let usage: UsageRepository;
  beforeAll(async () => {
    test = await openTestDatabase(engine);
    usage = new UsageRepository(test.database);
  });
  afterAll(async () => {
    await test?.close();
  });

  it('adds completions into one row per key, model and day, and keeps it marked estimated once any was', async () => {
    await usage.record(increment({}));
    await usage.record(increment({ completionTokens: 7, error: true, estimated: true }));
    await usage.record(increment({ promptTokens: 1 }));
    expect(await usage.list({ keyId: 'key_a', limit: 10 })).toEqual([
      { key_id: 'key_a', owner: 'acme', model: 'fast', day: '2030-01-15', requests: '3', prompt_tokens: '21', completion_tokens: '17', total_tokens: '38', errors: '1', estimated: true },
    ]);
  });

  it('counts tokens per window, and reads 0 for a window without any', async () => {
    const month = { period: 'month' as const, start: windowAt('month', at).start };
    const minute = { period: 'minute' as const, start: windowAt('minute', at).start };
    await usage.record(increment({ keyId: 'key_w', windows: [month, minute] }));
    await usage.record(increment({ keyId: 'key_w', windows: [month] }));
    const next = { period: 'minute' as const, start: windowAt('minute', new Date(at.getTime() + 60_000)).start };
    expect(await usage.windowTotals('key_w', [month, minute, next])).toEqual([30, 15, 0]);
    await usage.deleteWindowsBefore('minute', new Date(at.getTime() + 3_600_000));
    expect(await usage.windowTotals('key_w', [month, minute])).toEqual([30, 0]);
  });

  it('lists newest day first, then by key and model, and continues after a row', async () => {
    for (const [day, keyId, model] of [
      ['2030-02-01', 'key_p', 'b'],
      ['2030-02-01', 'key_p', 'a'],
      ['2030-02-02', 'key_p', 'a'],
      ['2030-01-31', 'key_p', 'a'],
    ] as const) {
      await usage.record(increment({ day, keyId, model, owner: 'paging' }));
    }
    const all = await usage.list({ owner: 'paging', limit: 10 });
    expect(all.map((row) => `${row.day} ${row.model}`)).toEqual(['2030-02-02 a', '2030-02-01 a', '2030-02-01 b', '2030-01-31 a']);
    const after = await usage.list({ owner: 'paging', limit: 10, after: { day: '2030-02-01', keyId: 'key_p', model: 'a' } });
    expect(after.map((row) => `${row.day} ${row.model}`)).toEqual(['2030-02-01 b', '2030-01-31 a']);
    expect((await usage.list({ owner: 'paging', since: '2030-02-01', until: '2030-02-01', limit: 10 })).length).toBe(2);
  });
});
