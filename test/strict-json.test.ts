import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { expectProblem } from './support/contract.js';
import { engines, startTestService, type TestKey, type TestService } from './support/service.js';

/**
 * Issue 12: JSON in is I-JSON (RFC 7493), and what is accepted is stored exactly as sent. Each
 * refusal is a 400 naming the JSON Pointer of the value; each acceptance is read back from the
 * database through GET /events/{event_id}.
 */
describe.each(engines())('strict JSON bodies on %s', (engine) => {
  let service: TestService;
  let writer: TestKey;

  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
    writer = await service.createKey(['events:write', 'events:read', 'chat'], { owner: 'strict' });
  });
  afterAll(async () => {
    await service?.stop();
  });

  const post = (path: string, body: string | Buffer, contentType = 'application/json') =>
    fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${writer.token}` }, body });
  const read = (eventId: string) => fetch(`${service.url}/events/${encodeURIComponent(eventId)}`, { headers: { authorization: `Bearer ${writer.token}` } });

  /** An event's text with `data` (JSON text) as its event_data. */
  const eventText = (eventId: string, data: string, eventType = '"strict"') => `{"event_id":"${eventId}","event_type":${eventType},"event_data":${data}}`;

  it.each([
    ['invalid UTF-8 in a string', Buffer.concat([Buffer.from('{"s":"ab'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), 'malformed-body', '/event_data/s'],
    ['invalid UTF-8 in a member name', Buffer.concat([Buffer.from('{"k'), Buffer.from([0xc3, 0x28]), Buffer.from('":1}')]), 'malformed-body', '/event_data'],
    ['a UTF-8-encoded surrogate', Buffer.concat([Buffer.from('{"s":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), 'malformed-body', '/event_data/s'],
    ['an overlong encoding', Buffer.concat([Buffer.from('{"s":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), 'malformed-body', '/event_data/s'],
    ['a duplicate member name', '{"k":1,"k":2}', 'validation', '/event_data/k'],
    ['a duplicate name written with an escape', '{"k":1,"\\u006b":2}', 'validation', '/event_data/k'],
    ['an integer beyond 2^53−1', '{"n":18446744073709551617}', 'validation', '/event_data/n'],
    ['2^53, the first integer a double cannot tell from its successor', '{"n":[9007199254740992]}', 'validation', '/event_data/n/0'],
    ['a number that underflows to 0', '{"n":1e-400}', 'validation', '/event_data/n'],
    ['a number that overflows', '{"n":-1e400}', 'validation', '/event_data/n'],
    ['more digits than a double holds', '{"n":0.10000000000000000001}', 'validation', '/event_data/n'],
    ['an unpaired surrogate escape', '{"s":"\\ud800x"}', 'validation', '/event_data/s'],
  ])('refuses %s with 400 naming its pointer, and stores nothing', async (_name, data, type, pointer) => {
    const eventId = randomUUID();
    const text = Buffer.isBuffer(data) ? Buffer.concat([Buffer.from(eventText(eventId, '').slice(0, -1)), data, Buffer.from('}')]) : eventText(eventId, data);
    const problem = await expectProblem(await post('/events', text), 400);
    expect(problem.type).toBe(`urn:portico:problem:${type}`);
    expect(problem.errors![0]).toMatchObject({ location: 'body', pointer });
    expect((await read(eventId)).status).toBe(404);
  });

  it('refuses a second event_type rather than letting it override the first', async () => {
    const eventId = randomUUID();
    const problem = await expectProblem(await post('/events', `{"event_id":"${eventId}","event_type":"first","event_type":"second","event_data":{}}`), 400);
    expect(problem.errors).toEqual([{ location: 'body', pointer: '/event_type', message: 'is a duplicate member name (I-JSON allows each name once per object)' }]);
    expect((await read(eventId)).status).toBe(404);
  });

  it('refuses a whole batch when one item has an inexact number', async () => {
    const [good, bad] = [randomUUID(), randomUUID()];
    const problem = await expectProblem(await post('/events/batch', `{"events":[${eventText(good, '{}')},${eventText(bad, '{"n":1e-400}')}]}`), 400);
    expect(problem.errors![0]!.pointer).toBe('/events/1/event_data/n');
    expect((await read(good)).status).toBe(404);
  });

  it('answers 415 for a JSON body in another charset', async () => {
    await expectProblem(await post('/events', Buffer.from(eventText(randomUUID(), '{}'), 'utf16le'), 'application/json; charset=utf-16'), 415);
  });

  it('stores what it accepts exactly as sent, and reads it back unchanged', async () => {
    const eventId = randomUUID();
    // Each number reads back as the same decimal value; each string as the same code points.
    const data =
      '{"max":9007199254740991,"min":-9007199254740991,"big":1e300,"tiny":5e-324,"tenth":0.1,"small":1.5e-7,"e20":1E20,' +
      '"seventeen":123456789.12345679,"one":1.000,"bom":"\ufeffstarts with a BOM","escaped":"\\u00e9\\ud83d\\ude80\\n\\"",' +
      '"raw":"é🚀","__proto__":{"polluted":true},"nested":{"list":[1,[2,[3]],{"a/b~c":null}]}}';
    expect((await post('/events', eventText(eventId, data))).status).toBe(202);
    const stored = (await (await read(eventId)).json()) as { event_data: Record<string, unknown> };
    expect(stored.event_data).toEqual(JSON.parse(data));
    expect(Object.getOwnPropertyNames(stored.event_data)).toContain('__proto__');
    const values = stored.event_data;
    expect([values.max, values.min, values.big, values.tiny, values.tenth, values.small, values.e20, values.seventeen]).toEqual([
      9007199254740991, -9007199254740991, 1e300, 5e-324, 0.1, 1.5e-7, 1e20, 123456789.12345679,
    ]);
    expect(values.bom).toBe('\ufeffstarts with a BOM');
    expect(values.escaped).toBe('é🚀\n"');
    expect(values.raw).toBe('é🚀');
  });

  it.each([
    ['/content/location/0x10', 'path', '/location_id'],
    ['/content/location/1e1', 'path', '/location_id'],
    ['/content/location/%2010', 'path', '/location_id'],
    ['/content/location/010', 'path', '/location_id'],
    ['/events?limit=1e1', 'query', '/limit'],
    ['/events?limit=10.0', 'query', '/limit'],
    ['/events?limit=%2B10', 'query', '/limit'],
  ])('reads numeric parameters as written: %s is a 400, not another number', async (url, location, pointer) => {
    const problem = await expectProblem(await fetch(`${service.url}${url}`, { headers: { authorization: `Bearer ${service.adminToken}` } }), 400);
    expect(problem.errors).toEqual([{ location, pointer, message: 'must be an integer written in decimal digits' }]);
  });

  it('takes plain decimal parameters', async () => {
    const headers = { authorization: `Bearer ${service.adminToken}` };
    expect((await fetch(`${service.url}/events?limit=10`, { headers })).status).toBe(200);
    const location = await fetch(`${service.url}/content/location/10`, { headers });
    expect(((await location.json()) as { location_id: number }).location_id).toBe(10);
  });

  it('ignores a byte order mark before the body', async () => {
    const eventId = randomUUID();
    expect((await post('/events', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(eventText(eventId, '{"ok":true}'))]))).status).toBe(202);
    expect(((await (await read(eventId)).json()) as { event_data: unknown }).event_data).toEqual({ ok: true });
  });

  it('names where a syntax error is', async () => {
    const problem = await expectProblem(await post('/events', `{"event_id":"x","event_type":"t","event_data":{"list":[1,2,}}`), 400);
    expect(problem.type).toBe('urn:portico:problem:malformed-body');
    expect(problem.errors![0]!.pointer).toBe('/event_data/list/2');
    expect(problem.detail).toMatch(/^The body is not valid JSON: expected a JSON value, found '}' at character \d+\.$/);
  });

  it('applies the same rules to /ws/chat messages', async () => {
    const socket = new WebSocket(`${service.url.replace('http', 'ws')}/ws/chat?token=${writer.token}`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const answer = (message: string) =>
      new Promise<{ type: string; message: string }>((resolve) => {
        socket.once('message', (data) => resolve(JSON.parse(String(data)) as { type: string; message: string }));
        socket.send(message);
      });
    expect(await answer('{"message":"a","message":"b"}')).toEqual({ type: 'error', message: 'Invalid ChatRequest: /message is a duplicate member name (I-JSON allows each name once per object)' });
    expect(await answer('{"message":"hi","max_tokens":18446744073709551617}')).toMatchObject({ type: 'error', message: expect.stringContaining('/max_tokens is an integer beyond') });
    expect((await answer('{"message":')).message).toMatch(/^Invalid ChatRequest: \/message /);
    // What POST /chat refuses as unstorable is refused here too, not an internal error.
    expect(await answer('{"message":"nul \\u0000 here"}')).toEqual({ type: 'error', message: 'Invalid ChatRequest: /message must not contain U+0000 (NUL), which PostgreSQL cannot store' });
    socket.close();
  });
});
