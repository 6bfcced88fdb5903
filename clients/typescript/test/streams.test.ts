/**
 * The typed SSE iterators against mocked streams: parsing across arbitrary chunk boundaries,
 * multi-line data and heartbeats, ends, errors, aborts, and resuming with Last-Event-ID.
 */
import { HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { type ChatFrame, liveEvents, PorticoError, PorticoStreamError, type Schemas, streamChat, taskEvents } from '../src/index.js';
import { http, useMockApi } from './support/mock-api.js';
import { asSchema, mediaExample, operation, problemExample, schemaExample } from './support/spec.js';
import { byteChunks, type Ending, frame, SSE_HEADERS, streamBody } from './support/sse.js';

const api = useMockApi();

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
}

function sse(chunks: (string | Uint8Array)[], ending: Ending = 'close'): Response {
  return new HttpResponse(streamBody(chunks, ending), { headers: SSE_HEADERS });
}

describe('streamChat', () => {
  const request: Schemas['ChatRequest'] = { message: 'Suggest a lake resort for a family of four.', max_tokens: 50 };
  const token = schemaExample('ChatTokenFrame');
  const tokens: Schemas['ChatTokenFrame'][] = [token, { ...token, content: 'Lugano 🏔️ — “family” ' }, { ...token, content: 'line one\nline two' }];
  const done = schemaExample('ChatDoneFrame');
  const error = schemaExample('ChatErrorFrame');
  // Pretty-printed JSON spreads one frame over several `data:` lines; comments are heartbeats.
  const text = [': heartbeat\n\n', frame({ data: tokens[0] }), frame({ data: JSON.stringify(tokens[1], null, 2) }), ': heartbeat\n\n', frame({ data: tokens[2] }), frame({ data: done })].join('');

  function answer(body: () => Response): void {
    api.server.use(
      http.post('/chat/stream', async ({ request, response }) => {
        await api.check('streamChat', request);
        expect(request.headers.get('accept')).toBe('text/event-stream');
        expect(request.headers.get('authorization')).toBe('Bearer ptk_test');
        return response.untyped(body());
      }),
    );
  }

  it.each([1, 2, 3, 5, 7, 64, 100_000])('yields every frame in order with chunks of %i bytes', async (size) => {
    answer(() => sse(byteChunks(text, size)));
    expect(await collect(streamChat(api.client(), request))).toEqual([...tokens, done]);
  });

  it('reads CRLF line endings', async () => {
    answer(() => sse(byteChunks(text.replaceAll('\n', '\r\n'), 4)));
    expect(await collect(streamChat(api.client(), request))).toEqual([...tokens, done]);
  });

  it('ends after an error frame', async () => {
    answer(() => sse([frame({ data: token }), frame({ data: error }), frame({ data: token })], 'hang'));
    expect(await collect(streamChat(api.client(), request))).toEqual([token, error]);
  });

  it('skips frames of kinds it does not know', async () => {
    answer(() => sse([frame({ data: { type: 'tool_call', name: 'search' } }), frame({ data: done })]));
    expect(await collect(streamChat(api.client(), request))).toEqual([done]);
  });

  it('rejects when the stream ends before its done frame', async () => {
    answer(() => sse([frame({ data: token })]));
    expect(await failure(collect(streamChat(api.client(), request)))).toBeInstanceOf(PorticoStreamError);
  });

  it('rejects a frame that is not a chat frame', async () => {
    answer(() => sse([frame({ data: { type: 'token' } })]));
    expect(await failure(collect(streamChat(api.client(), request)))).toBeInstanceOf(PorticoStreamError);
  });

  it('rejects with a PorticoError on a problem answer', async () => {
    api.server.use(http.post('/chat/stream', ({ response }) => response(403).json(problemExample(403))));
    const rejection = await failure(collect(streamChat(api.client(), request)));
    expect(rejection).toBeInstanceOf(PorticoError);
    expect(rejection).toMatchObject({ status: 403, problem: problemExample(403) });
  });

  it('stops when aborted, with the signal reason', async () => {
    answer(() => sse([frame({ data: token })], 'hang'));
    const controller = new AbortController();
    const received: ChatFrame[] = [];
    const rejection = await failure(
      (async () => {
        for await (const chunk of streamChat(api.client(), request, { signal: controller.signal })) {
          received.push(chunk);
          controller.abort(new Error('user closed the chat'));
        }
      })(),
    );
    expect(received).toEqual([token]);
    expect(rejection).toEqual(new Error('user closed the chat'));
  });

  it('sends the spec example request, which the mock validates', async () => {
    answer(() => sse([frame({ data: done })]));
    const example = asSchema('ChatRequest', mediaExample(operation('streamChat').requestBody?.media));
    expect(await collect(streamChat(api.client(), example))).toEqual([done]);
  });
});

describe('taskEvents', () => {
  const taskId = schemaExample('TaskStatus').task_id;
  const base = { ...schemaExample('TaskEventFrame'), task_id: taskId, type: 'inference' } as const;
  const history: { id: string; data: Schemas['TaskEventFrame'] }[] = [
    { id: '1840', data: { ...base, status: 'PENDING', progress: 0, data: {} } },
    { id: '1841', data: { ...base, status: 'STARTED', progress: 0, data: { attempt: 1 } } },
    { id: '1842', data: { ...base, status: 'STARTED', progress: 0.5, data: { scored: 600 } } },
    { id: '1843', data: { ...base, status: 'SUCCESS', progress: 1, data: {} } },
  ];
  const frames = history.map(({ id, data }) => frame({ id, event: 'status', data }));
  const expected = history.map(({ id, data }) => ({ id, event: 'status', data }));

  /** Serves the history after Last-Event-ID; `connections[i]` decides how the i-th connection ends and how many frames it sends. */
  function serve(connections: { frames: number; ending: Ending; extra?: string[] }[], kind: 'inference' | 'training' = 'inference') {
    const lastEventIds: (string | null)[] = [];
    const resolver = ({ request, params }: { request: Request; params: { task_id: string } }) => {
      expect(params.task_id).toBe(taskId);
      const after = request.headers.get('last-event-id');
      lastEventIds.push(after);
      const connection = connections[Math.min(lastEventIds.length, connections.length) - 1] ?? { frames: 0, ending: 'close' };
      const start = after === null ? 0 : history.findIndex((event) => event.id === after) + 1;
      return sse([...(connection.extra ?? []), ...frames.slice(start, start + connection.frames)], connection.ending);
    };
    api.server.use(
      kind === 'inference'
        ? http.get('/inference/{task_id}/events', (info) => info.response.untyped(resolver(info)))
        : http.get('/train/{task_id}/events', (info) => info.response.untyped(resolver(info))),
    );
    return lastEventIds;
  }

  it('yields status frames until the terminal one, then ends even if the server stays open', async () => {
    const lastEventIds = serve([{ frames: 4, ending: 'hang', extra: [': heartbeat\n\n', frame({ event: 'progress-note', data: 'ignored' })] }]);
    expect(await collect(taskEvents(api.client(), 'inference', taskId))).toEqual(expected);
    expect(lastEventIds).toEqual([null]);
  });

  it.each<Ending>(['close', 'error'])('resumes after the connection drops (%s) with Last-Event-ID, without repeats', async (ending) => {
    const lastEventIds = serve([{ frames: 2, ending }, { frames: 10, ending: 'close' }]);
    expect(await collect(taskEvents(api.client(), 'inference', taskId, { retryDelayMs: 5 }))).toEqual(expected);
    expect(lastEventIds).toEqual([null, '1841']);
  });

  it('reconnects on `event: end` (the server is shutting down) without waiting for the close', async () => {
    const end = frame({ event: 'end', data: schemaExample('StreamEndFrame') });
    const lastEventIds: (string | null)[] = [];
    api.server.use(
      http.get('/inference/{task_id}/events', ({ request, response }) => {
        const after = request.headers.get('last-event-id');
        lastEventIds.push(after);
        // The first connection stays open after `end`: the client must not wait for it to close.
        return response.untyped(after === null ? sse([frames[0] ?? '', end], 'hang') : sse(frames.slice(1)));
      }),
    );
    expect(await collect(taskEvents(api.client(), 'inference', taskId, { retryDelayMs: 5 }))).toEqual(expected);
    expect(lastEventIds).toEqual([null, '1840']);
  });

  it('starts after `lastEventId`', async () => {
    const lastEventIds = serve([{ frames: 10, ending: 'close' }]);
    expect(await collect(taskEvents(api.client(), 'inference', taskId, { lastEventId: '1842' }))).toEqual(expected.slice(3));
    expect(lastEventIds).toEqual(['1842']);
  });

  it('streams training tasks from their own path', async () => {
    serve([{ frames: 10, ending: 'close' }], 'training');
    expect(await collect(taskEvents(api.client(), 'training', taskId))).toHaveLength(4);
  });

  it('rejects at once on a problem that retrying cannot fix', async () => {
    let attempts = 0;
    api.server.use(
      http.get('/inference/{task_id}/events', ({ response }) => {
        attempts++;
        return response(404).json(problemExample(404));
      }),
    );
    const rejection = await failure(collect(taskEvents(api.client(), 'inference', taskId, { retryDelayMs: 5 })));
    expect(rejection).toMatchObject({ name: 'PorticoError', status: 404 });
    expect(attempts).toBe(1);
  });

  it('reconnects after a 503 (a restarting server), then gives up after maxRetries', async () => {
    let attempts = 0;
    api.server.use(
      http.get('/inference/{task_id}/events', ({ response }) => {
        attempts++;
        return attempts === 1 ? response(503).json(problemExample(503), { headers: { 'Retry-After': '0' } }) : response.untyped(sse(frames));
      }),
    );
    let opened = 0;
    expect(await collect(taskEvents(api.client(), 'inference', taskId, { retryDelayMs: 5, onOpen: () => opened++ }))).toEqual(expected);
    // The refused attempt is not an open stream.
    expect(opened).toBe(1);

    attempts = 0;
    api.server.use(http.get('/inference/{task_id}/events', ({ response }) => (attempts++, response(503).json(problemExample(503)))));
    const rejection = await failure(collect(taskEvents(api.client(), 'inference', taskId, { retryDelayMs: 1, maxRetries: 2 })));
    expect(rejection).toMatchObject({ status: 503 });
    expect(attempts).toBe(3);
  });

  it('rejects a status frame that is not a TaskEventFrame', async () => {
    api.server.use(http.get('/inference/{task_id}/events', ({ response }) => response.untyped(sse([frame({ id: '1', event: 'status', data: { status: 'DONE' } })]))));
    expect(await failure(collect(taskEvents(api.client(), 'inference', taskId)))).toBeInstanceOf(PorticoStreamError);
  });
});

describe('liveEvents', () => {
  const event = schemaExample('Event');
  const events = [
    { id: '745.1204', data: event },
    { id: '745.1205', data: { ...event, event_id: 'evt-2', event_data: { path: '/products/43' } } },
    { id: '746.1', data: { ...event, event_id: 'evt-3', source: 'system' } },
  ] satisfies { id: string; data: Schemas['Event'] }[];

  it('yields events, resumes after a drop with Last-Event-ID, and rejects when aborted', async () => {
    const requests: { lastEventId: string | null; eventType: string | null }[] = [];
    api.server.use(
      http.get('/events/stream', ({ request, query, response }) => {
        const lastEventId = request.headers.get('last-event-id');
        requests.push({ lastEventId, eventType: query.get('event_type') });
        const start = lastEventId === null ? 0 : events.findIndex((item) => item.id === lastEventId) + 1;
        const chunks = events.slice(start).map(({ id, data }) => frame({ id, event: 'event', data }));
        // The first connection drops after two events; the second stays open like an idle stream.
        return response.untyped(lastEventId === null ? sse([': heartbeat\n\n', ...chunks.slice(0, 2)], 'error') : sse(chunks, 'hang'));
      }),
    );
    const controller = new AbortController();
    const received: unknown[] = [];
    // onOpen runs once per connection, before that connection's first event.
    const opens: number[] = [];
    const rejection = await failure(
      (async () => {
        for await (const item of liveEvents(api.client(), { eventType: 'page_view', signal: controller.signal, retryDelayMs: 5, onOpen: () => opens.push(received.length) })) {
          received.push(item);
          if (received.length === events.length) controller.abort();
        }
      })(),
    );
    expect(received).toEqual(events.map(({ id, data }) => ({ id, event: 'event', data })));
    expect(requests).toEqual([
      { lastEventId: null, eventType: 'page_view' },
      { lastEventId: '745.1205', eventType: 'page_view' },
    ]);
    expect(opens).toEqual([0, 2]);
    expect(rejection).toMatchObject({ name: 'AbortError' });
  });

  it('closes the connection when the loop is left', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(events.map(({ id, data }) => frame({ id, event: 'event', data })).join('')));
      },
      cancel() {
        cancelled = true;
      },
    });
    // A fetch of its own: MSW hands out a copy of a mocked body, so a cancel would not reach this one.
    const client = api.client({ fetch: async () => new Response(body, { headers: SSE_HEADERS }) });
    for await (const item of liveEvents(client)) {
      expect(item.data).toEqual(event);
      break;
    }
    await expect.poll(() => cancelled).toBe(true);
  });
});
