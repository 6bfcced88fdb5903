import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PorticoClient } from '../clients/typescript/src/index.js';
import { expectProblem, expectSchema } from './support/contract.js';
import { untilListingsCatchUp } from './support/events.js';
import { pythonWithRequests, runPython } from './support/python.js';
import { engines, startTestService, type TestKey, type TestService } from './support/service.js';


/** Seed 000's client, unchanged but for the URL and token. */
const SEED_CLIENT = `
import requests, json, sys
url = sys.argv[1] + "/events/"
event_data = {
    "event_id": "123e4567-e89b-12d3-a456-426614174000",
    "event_type": "test_event",
    "event_data": {"message": "Hello AI world!"}
}
headers = {"Content-Type": "application/json", "Authorization": "Bearer " + sys.argv[2]}
response = requests.post(url=url, data=json.dumps(event_data), headers=headers)
print(response.status_code)
print(response.text)
`;

const hasPythonRequests = await pythonWithRequests();
if (!hasPythonRequests) console.warn("NOTICE: python3 with requests is missing; seed 000's Python client test is skipped.");

describe.each(engines())('events on %s', (engine) => {
  let service: TestService;
  let writer: TestKey;
  let reader: TestKey;
  let client: PorticoClient;
  let readClient: PorticoClient;

  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
    writer = await service.createKey(['events:write', 'events:read'], { owner: 'acme' });
    reader = await service.createKey(['events:read'], { owner: 'acme' });
    client = service.client(writer.token);
    readClient = service.client(reader.token);
  });
  afterAll(async () => {
    await service?.stop();
  });

  const post = (body: unknown, token = writer.token) =>
    fetch(`${service.url}/events/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it.runIf(hasPythonRequests)("works with seed 000's own Python client", async () => {
    const { stdout } = await runPython('python3', ['-c', SEED_CLIENT, service.url, writer.token]);
    const [status, text] = stdout.trim().split('\n');
    expect(status).toBe('202');
    expect(JSON.parse(text!)).toMatchObject({ message: 'Data received!', event_id: '123e4567-e89b-12d3-a456-426614174000' });
  });

  it('stores an event before answering 202, and reads it back', async () => {
    const event = { event_id: randomUUID(), event_type: 'test_event', event_data: { message: 'Hello AI world!' } };
    const created = await client.POST('/events', { body: event });
    expect(created.response.status).toBe(202);
    expect(created.data).toMatchObject({ message: 'Data received!', event_id: event.event_id });
    const read = await readClient.GET('/events/{event_id}', { params: { path: { event_id: event.event_id } } });
    expect(read.data).toMatchObject({ ...event, source: 'client', owner: 'acme', received_at: created.data!.received_at });
  });

  it('replays an identical event without storing it twice, and refuses a different one with 409', async () => {
    const event = { event_id: randomUUID(), event_type: 'click', event_data: { a: 1, b: [1, 2] } };
    const first = await post(event);
    const firstBody = (await first.json()) as { received_at: string };
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post({ ...event, event_data: { b: [1, 2], a: 1 } });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { received_at: string }).received_at).toBe(firstBody.received_at);
    const clash = await post({ ...event, event_data: { a: 2 } });
    const problem = await expectProblem(clash, 409);
    expect(problem.type).toBe('urn:portico:problem:idempotency-conflict');
    await untilListingsCatchUp(client);
    const listed = await readClient.GET('/events', { params: { query: { event_type: 'click' } } });
    expect(listed.data!.items.filter((item) => item.event_id === event.event_id)).toHaveLength(1);
  });

  it('keeps owners apart: ids are per owner, and another owner sees 404 and an empty list', async () => {
    const other = await service.createKey(['events:write', 'events:read'], { owner: 'globex' });
    const otherClient = service.client(other.token);
    const event_id = randomUUID();
    expect((await client.POST('/events', { body: { event_id, event_type: 'x', event_data: { who: 'acme' } } })).response.status).toBe(202);
    expect((await otherClient.POST('/events', { body: { event_id, event_type: 'x', event_data: { who: 'globex' } } })).response.status).toBe(202);
    const mine = await otherClient.GET('/events/{event_id}', { params: { path: { event_id } } });
    expect(mine.data?.event_data).toEqual({ who: 'globex' });
    const onlyAcme = await otherClient.GET('/events', { params: { query: { limit: 500 } } });
    expect(onlyAcme.data!.items.every((item) => item.owner === 'globex')).toBe(true);
    const probing = await otherClient.GET('/events', { params: { query: { owner: 'acme' } } });
    expect(probing.data!.items).toEqual([]);
    const hidden = await otherClient.GET('/events/{event_id}', { params: { path: { event_id: 'only-acme-has-this' } } });
    expect(hidden.response.status).toBe(404);
    await client.POST('/events', { body: { event_id: 'only-acme-has-this', event_type: 'x', event_data: {} } });
    const stillHidden = await otherClient.GET('/events/{event_id}', { params: { path: { event_id: 'only-acme-has-this' }, query: { owner: 'acme' } } });
    expect(stillHidden.response.status).toBe(404);
    const admin = service.client(service.adminToken);
    const seen = await admin.GET('/events/{event_id}', { params: { path: { event_id }, query: { owner: 'acme' } } });
    expect(seen.data?.event_data).toEqual({ who: 'acme' });
  });

  it('answers an unknown event with 404', async () => {
    await expectProblem(await fetch(`${service.url}/events/nope-${randomUUID()}`, { headers: { authorization: `Bearer ${reader.token}` } }), 404);
  });

  it('ingests a batch with an outcome per item', async () => {
    const existing = { event_id: randomUUID(), event_type: 'b', event_data: { v: 1 } };
    await client.POST('/events', { body: existing });
    const fresh = randomUUID();
    const { data, response } = await client.POST('/events/batch', {
      body: {
        events: [
          { event_id: fresh, event_type: 'b', event_data: { v: 2 } },
          existing,
          { ...existing, event_data: { v: 99 } },
          { event_id: fresh, event_type: 'b', event_data: { v: 2 } },
          { event_id: fresh, event_type: 'b', event_data: { v: 3 } },
        ],
      },
    });
    expect(response.status).toBe(202);
    expect(data!.results.map((result) => result.outcome)).toEqual(['accepted', 'duplicate', 'conflict', 'duplicate', 'conflict']);
    expect(data).toMatchObject({ accepted: 1, duplicates: 2, conflicts: 2 });
    expect(data!.results[3]!.received_at).toBe(data!.results[0]!.received_at);
  });

  it('rejects a batch with a bad item by index, storing none', async () => {
    const good = randomUUID();
    const response = await fetch(`${service.url}/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${writer.token}` },
      body: JSON.stringify({
        events: [
          { event_id: good, event_type: 'ok', event_data: {} },
          { event_id: randomUUID(), event_type: '', event_data: {} },
          { event_id: randomUUID(), event_type: 'ok', event_data: 'not an object' },
          { event_id: randomUUID(), event_type: 'ok', event_data: { text: 'nul \u0000 inside' } },
        ],
      }),
    });
    const problem = await expectProblem(response, 400);
    const pointers = problem.errors!.map((error) => error.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/events/1/event_type', '/events/2/event_data']));
    const stored = await readClient.GET('/events/{event_id}', { params: { path: { event_id: good } } });
    expect(stored.response.status).toBe(404);
    const nul = await fetch(`${service.url}/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${writer.token}` },
      body: JSON.stringify({ events: [{ event_id: good, event_type: 'ok', event_data: {} }, { event_id: randomUUID(), event_type: 'ok', event_data: { t: 'a\u0000b' } }] }),
    });
    expect((await expectProblem(nul, 400)).errors![0]!.pointer).toBe('/events/1/event_data/t');
    expect((await readClient.GET('/events/{event_id}', { params: { path: { event_id: good } } })).response.status).toBe(404);
  });

  it('refuses more than 1,000 events in a batch', async () => {
    const events = Array.from({ length: 1001 }, (_, i) => ({ event_id: `too-many-${i}`, event_type: 't', event_data: {} }));
    const response = await fetch(`${service.url}/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${writer.token}` },
      body: JSON.stringify({ events }),
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors![0]!.pointer).toBe('/events');
  });

  it('round-trips Unicode, long strings, deep nesting and numbers at the edges exactly', async () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let level = 2; level <= 32; level++) deep = { d: deep };
    const data = {
      unicode: 'héllo 世界 🚀 \u200d 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ٱلْعَرَبِيَّة',
      emoji_keys: { '🔑': 'ключ', 'a/b~c': 'pointer chars' },
      long: 'x'.repeat(200_000),
      numbers: [0, -1, 0.1, 1e-7, 2 ** 53 - 1, -(2 ** 53 - 1), 1.7976931348623157e308, 5e-324, 123456789.12345679],
      deep: deep.d,
      empty: { array: [], object: {}, nothing: null, yes: true, no: false },
    };
    const event_id = randomUUID();
    expect((await post({ event_id, event_type: 'edge', event_data: data })).status).toBe(202);
    const stored = await readClient.GET('/events/{event_id}', { params: { path: { event_id } } });
    // Values come back exactly; key order is jsonb's (JSON objects are unordered).
    expect(stored.data!.event_data).toEqual(data);
    expect(JSON.stringify((stored.data!.event_data as typeof data).numbers)).toBe(JSON.stringify(data.numbers));
  });

  it('rejects what it could not store faithfully, with 400 naming the field', async () => {
    let tooDeep: Record<string, unknown> = {};
    for (let level = 2; level <= 33; level++) tooDeep = { d: tooDeep };
    const cases: [string, string][] = [
      [JSON.stringify({ event_id: randomUUID(), event_type: 't', event_data: tooDeep }), '/event_data'],
      [JSON.stringify({ event_id: randomUUID(), event_type: 't', event_data: { s: 'a\u0000' } }), '/event_data/s'],
      [`{"event_id":"${randomUUID()}","event_type":"t","event_data":{"s":"\\ud800"}}`, '/event_data/s'],
      [`{"event_id":"${randomUUID()}","event_type":"t","event_data":{"n":1e400}}`, '/event_data/n'],
      [JSON.stringify({ event_id: randomUUID(), event_type: 'x'.repeat(129), event_data: {} }), '/event_type'],
      [JSON.stringify({ event_id: 'has space', event_type: 't', event_data: {} }), '/event_id'],
    ];
    for (const [body, pointer] of cases) {
      const problem = await expectProblem(await post(body), 400);
      expect(problem.errors!.map((error) => error.pointer.slice(0, pointer.length))).toContain(pointer);
    }
  });

  it('lists newest first with filters and cursor pages', async () => {
    const kind = `page-${randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const event_id = `${kind}-${i}`;
      ids.push(event_id);
      await client.POST('/events', { body: { event_id, event_type: kind, event_data: { i } } });
    }
    await untilListingsCatchUp(client);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { data } = await readClient.GET('/events', { params: { query: { event_type: kind, limit: 3, ...(cursor ? { cursor } : {}) } } });
      expectSchema('EventPage', data);
      seen.push(...data!.items.map((item) => item.event_id));
      cursor = data!.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const future = await readClient.GET('/events', { params: { query: { event_type: kind, since: new Date(Date.now() + 60_000).toISOString() } } });
    expect(future.data!.items).toEqual([]);
    const past = await readClient.GET('/events', { params: { query: { event_type: kind, until: '2000-01-01T00:00:00Z' } } });
    expect(past.data!.items).toEqual([]);
    const clientOnly = await readClient.GET('/events', { params: { query: { event_type: kind, source: 'system' } } });
    expect(clientOnly.data!.items).toEqual([]);
  });

  it('reads filters typed as the docs write them, without percent-encoding (curl)', async () => {
    const kind = `ns:page/${randomUUID()}@web`;
    await client.POST('/events', { body: { event_id: `raw-${randomUUID()}`, event_type: kind, event_data: {} } });
    await untilListingsCatchUp(client);
    const response = await fetch(`${service.url}/events?event_type=${kind}&since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00.000Z`, {
      headers: { authorization: `Bearer ${reader.token}` },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { items: { event_type: string }[] }).items.map((item) => item.event_type)).toEqual([kind]);
  });

  it('ends a page of big events early, at about 1 MiB, and pages on to every one exactly once', async () => {
    const kind = `big-${randomUUID()}`;
    const pad = 'z'.repeat(400_000);
    for (let i = 0; i < 5; i++) await client.POST('/events', { body: { event_id: `${kind}-${i}`, event_type: kind, event_data: { pad } } });
    await untilListingsCatchUp(client);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const { data } = await readClient.GET('/events', { params: { query: { event_type: kind, limit: 50, ...(cursor ? { cursor } : {}) } } });
      pages.push(data!.items.map((item) => item.event_id));
      cursor = data!.next_cursor ?? undefined;
    } while (cursor);
    // 400 KB each: three start within the first MiB, the other two make the next page.
    expect(pages).toEqual([
      [`${kind}-4`, `${kind}-3`, `${kind}-2`],
      [`${kind}-1`, `${kind}-0`],
    ]);
  });

  it('rejects absurd pagination and malformed filters', async () => {
    const headers = { authorization: `Bearer ${reader.token}` };
    for (const query of ['limit=0', 'limit=501', 'limit=abc', 'since=yesterday', 'source=robot', 'cursor=%24%24']) {
      await expectProblem(await fetch(`${service.url}/events?${query}`, { headers }), 400);
    }
    // Well-formed cursors whose positions no column can hold: past xid8's 2^64 and past bigint.
    for (const position of [{ x: '99999999999999999999', i: '1' }, { x: '1', i: '9223372036854775808' }]) {
      const cursor = Buffer.from(JSON.stringify(position)).toString('base64url');
      const problem = await expectProblem(await fetch(`${service.url}/events?cursor=${cursor}`, { headers }), 400);
      expect(problem.errors?.[0]?.pointer).toBe('/cursor');
    }
  });

  it('never skips or repeats an item while paging during inserts', async () => {
    const kind = `churn-${randomUUID()}`;
    const initial = Array.from({ length: 60 }, (_, i) => ({ event_id: `${kind}-a${i}`, event_type: kind, event_data: { i } }));
    await client.POST('/events/batch', { body: { events: initial } });
    // The first 60 are listed before paging starts; what the writer adds meanwhile may or may not be.
    await untilListingsCatchUp(client);
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await client.POST('/events', { body: { event_id: `${kind}-b${written++}`, event_type: kind, event_data: {} } });
      }
    })();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { data } = await readClient.GET('/events', { params: { query: { event_type: kind, limit: 7, ...(cursor ? { cursor } : {}) } } });
      seen.push(...data!.items.map((item) => item.event_id));
      cursor = data!.next_cursor ?? undefined;
      await new Promise((resolve) => setTimeout(resolve, 5));
    } while (cursor);
    writing = false;
    await writer;
    expect(new Set(seen).size).toBe(seen.length);
    for (const event of initial) expect(seen).toContain(event.event_id);
  });

  it('stores exactly the distinct events of 2,000 concurrent POSTs, 10% repeating an id', async () => {
    const kind = `burst-${randomUUID()}`;
    const distinct = Array.from({ length: 1800 }, (_, i) => ({ event_id: `${kind}-${i}`, event_type: kind, event_data: { i } }));
    // 200 repeats of every 9th event: even ones identical, odd ones with different content.
    const repeats = Array.from({ length: 200 }, (_, i) => {
      const original = distinct[i * 9]!;
      return i % 2 === 0 ? { ...original } : { ...original, event_data: { i: -1 } };
    });
    const requests = [...distinct, ...repeats];
    const responses = await Promise.all(requests.map((event) => post(event)));
    await Promise.all(responses.map((response) => response.body?.cancel()));
    const outcome = (index: number) =>
      `${responses[index]!.status}${responses[index]!.headers.get('idempotent-replayed') === 'true' ? ' replayed' : ''}`;

    const repeated = new Map(repeats.map((_, i) => [i * 9, 1800 + i]));
    for (let i = 0; i < 1800; i++) if (!repeated.has(i)) expect(outcome(i), `event ${i}`).toBe('202');
    const winners = new Map<string, unknown>();
    for (const [original, repeat] of repeated) {
      const pair = [outcome(original), outcome(repeat)].sort();
      if ((repeat - 1800) % 2 === 0) {
        expect(pair, `identical pair ${original}`).toEqual(['202', '202 replayed']);
      } else {
        expect(pair, `conflicting pair ${original}`).toEqual(['202', '409']);
        const winner = responses[original]!.status === 202 ? requests[original]! : requests[repeat]!;
        winners.set(winner.event_id, winner.event_data);
      }
    }

    await untilListingsCatchUp(client);
    const stored = new Map<string, unknown>();
    let cursor: string | undefined;
    do {
      const { data } = await readClient.GET('/events', { params: { query: { event_type: kind, limit: 500, ...(cursor ? { cursor } : {}) } } });
      for (const item of data!.items) {
        expect(stored.has(item.event_id)).toBe(false);
        stored.set(item.event_id, item.event_data);
      }
      cursor = data!.next_cursor ?? undefined;
    } while (cursor);
    expect(stored.size).toBe(1800);
    for (const [eventId, data] of winners) expect(stored.get(eventId)).toEqual(data);
  });
});
