/** The SDK core against the spec-derived mocks: auth, request ids, retries and typed problems. */
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { PorticoError, randomRequestId, retryAfterMs, unwrap } from '../src/index.js';
import { http, useMockApi } from './support/mock-api.js';
import { asSchema, mediaExample, operation, problemExample, successExample } from './support/spec.js';

const api = useMockApi();
const event = successExample('getEvent', 'Event');
const eventPath = { params: { path: { event_id: event.event_id } } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Answers each request with the next of `answers` (the last one repeats) and keeps the requests. */
function sequence(answers: (() => Response)[]): { requests: Request[]; handler: ReturnType<typeof http.get> } {
  const requests: Request[] = [];
  const handler = http.get('/events/{event_id}', ({ request, response }) => {
    requests.push(request);
    const answer = answers[Math.min(requests.length, answers.length) - 1];
    return response.untyped(answer ? answer() : new Response(null, { status: 500 }));
  });
  return { requests, handler };
}

function problemAnswer(status: number, headers: Record<string, string> = {}): () => Response {
  const problem = problemExample(status);
  return () => HttpResponse.json(problem, { status, headers: { 'X-Request-ID': problem.request_id, ...headers } });
}

const ok = () => HttpResponse.json(event);

describe('request ids', () => {
  it('are version 4 UUIDs, also where crypto.randomUUID is missing (a browser page over plain HTTP)', () => {
    const insecure = { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) };
    const ids = Array.from({ length: 50 }, () => randomRequestId(insecure));
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(randomRequestId()).toMatch(UUID);
  });
});

describe('requests', () => {
  it('carry the bearer token and a fresh X-Request-ID each', async () => {
    const { requests, handler } = sequence([ok]);
    api.server.use(handler);
    const client = api.client({ token: 'ptk_secret' });
    expect(await unwrap(client.GET('/events/{event_id}', eventPath))).toEqual(event);
    await unwrap(client.GET('/events/{event_id}', eventPath));
    const [first, second] = requests;
    expect(first?.headers.get('authorization')).toBe('Bearer ptk_secret');
    expect(first?.headers.get('x-request-id')).toMatch(UUID);
    expect(second?.headers.get('x-request-id')).toMatch(UUID);
    expect(second?.headers.get('x-request-id')).not.toBe(first?.headers.get('x-request-id'));
  });

  it('let a request choose its own X-Request-ID and extra headers', async () => {
    const { requests, handler } = sequence([ok]);
    api.server.use(handler);
    const client = api.client({ headers: { 'User-Agent': 'portico-test' } });
    await client.GET('/events/{event_id}', { ...eventPath, headers: { 'X-Request-ID': 'trace-1' } });
    expect(requests[0]?.headers.get('x-request-id')).toBe('trace-1');
    expect(requests[0]?.headers.get('user-agent')).toBe('portico-test');
  });

  it('send bodies the spec accepts (checked by the mock) and read typed answers', async () => {
    const body = asSchema('EventIn', mediaExample(operation('createEvent').requestBody?.media));
    const accepted = await unwrap(api.client().POST('/events', { body }));
    expect(accepted).toEqual(successExample('createEvent', 'EventAccepted'));
    expect(api.record.served).toContain('createEvent');
  });
});

describe('problem answers', () => {
  it('are typed as Problem in `error`', async () => {
    api.server.use(sequence([problemAnswer(404)]).handler);
    const { data, error, response } = await api.client().GET('/events/{event_id}', eventPath);
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error?.type).toBe('urn:portico:problem:not-found');
    expect(error?.request_id).toBe(problemExample(404).request_id);
  });

  it('reject unwrap with a PorticoError carrying the problem and request id', async () => {
    api.server.use(sequence([problemAnswer(404)]).handler);
    const failure = await unwrap(api.client().GET('/events/{event_id}', eventPath)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PorticoError);
    if (!(failure instanceof PorticoError)) return;
    expect(failure.status).toBe(404);
    expect(failure.problem).toEqual(problemExample(404));
    expect(failure.requestId).toBe(problemExample(404).request_id);
    expect(failure.message).toContain('Not Found');
  });

  it('that are not problem+json still give a PorticoError with a problem', async () => {
    const html = () => new HttpResponse('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway', headers: { 'Content-Type': 'text/html', 'X-Request-ID': 'proxy-1' } });
    api.server.use(sequence([html]).handler);
    const failure = await unwrap(api.client().GET('/events/{event_id}', eventPath)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PorticoError);
    if (!(failure instanceof PorticoError)) return;
    expect(failure.problem).toMatchObject({ type: 'about:blank', title: 'Bad Gateway', status: 502, detail: '<html>bad gateway</html>', request_id: 'proxy-1' });
    expect(failure.requestId).toBe('proxy-1');
  });
});

describe('retries', () => {
  it('are off by default', async () => {
    const { requests, handler } = sequence([problemAnswer(503, { 'Retry-After': '0' }), ok]);
    api.server.use(handler);
    const { error } = await api.client().GET('/events/{event_id}', eventPath);
    expect(error?.status).toBe(503);
    expect(requests).toHaveLength(1);
  });

  it('wait as Retry-After says in seconds on 429, resending the same request id', async () => {
    const { requests, handler } = sequence([problemAnswer(429, { 'Retry-After': '1' }), ok]);
    api.server.use(handler);
    const started = Date.now();
    const data = await unwrap(api.client({ retry: { baseDelayMs: 1 } }).GET('/events/{event_id}', eventPath));
    expect(data).toEqual(event);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.headers.get('x-request-id')).toBe(requests[0]?.headers.get('x-request-id'));
  });

  it('wait until the HTTP date of Retry-After on 503', async () => {
    const { requests, handler } = sequence([() => problemAnswer(503, { 'Retry-After': new Date(Date.now() + 2000).toUTCString() })(), ok]);
    api.server.use(handler);
    const started = Date.now();
    await unwrap(api.client({ retry: { baseDelayMs: 1 } }).GET('/events/{event_id}', eventPath));
    // HTTP dates have whole seconds: the wait is between 1 and 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(requests).toHaveLength(2);
  });

  it('back off exponentially without Retry-After, capped', async () => {
    const { requests, handler } = sequence([problemAnswer(503), problemAnswer(503), problemAnswer(503), ok]);
    api.server.use(handler);
    const started = Date.now();
    await unwrap(api.client({ retry: { retries: 3, baseDelayMs: 40, maxDelayMs: 100 } }).GET('/events/{event_id}', eventPath));
    // 40 + 80 + 100 (160 capped) ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(210);
    expect(requests).toHaveLength(4);
  });

  it('give up after the limit with the last problem', async () => {
    const { requests, handler } = sequence([problemAnswer(429, { 'Retry-After': '0' })]);
    api.server.use(handler);
    const failure = await unwrap(api.client({ retry: { retries: 2 } }).GET('/events/{event_id}', eventPath)).catch((error: unknown) => error);
    expect(requests).toHaveLength(3);
    expect(failure).toBeInstanceOf(PorticoError);
    expect(failure).toMatchObject({ status: 429, requestId: problemExample(429).request_id });
  });

  it('never repeat other errors', async () => {
    const { requests, handler } = sequence([problemAnswer(500), ok]);
    api.server.use(handler);
    const { error } = await api.client({ retry: true }).GET('/events/{event_id}', eventPath);
    expect(error?.status).toBe(500);
    expect(requests).toHaveLength(1);
  });

  it('resend the body of a POST', async () => {
    let attempts = 0;
    const bodies: unknown[] = [];
    api.server.use(
      http.post('/events', async ({ request, response }) => {
        bodies.push(await request.json());
        attempts++;
        return attempts === 1 ? response(503).json(problemExample(503), { headers: { 'Retry-After': '0' } }) : response(202).json(successExample('createEvent', 'EventAccepted'));
      }),
    );
    const body = { event_id: 'evt-1', event_type: 'test_event', event_data: { n: 1 } };
    await unwrap(api.client({ retry: true }).POST('/events', { body }));
    expect(bodies).toEqual([body, body]);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  it.each([
    ['12', 12_000],
    [' 0 ', 0],
    ['Sun, 22 Nov 2026 10:00:05 GMT', 5_000],
    ['Sun, 22 Nov 2026 09:59:00 GMT', 0],
    ['soon', undefined],
    ['-3', undefined],
    ['', undefined],
  ])('reads %j as %j ms', (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });
  it('is undefined without the header', () => expect(retryAfterMs(null)).toBeUndefined());
});
