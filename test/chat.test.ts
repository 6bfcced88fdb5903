import { setTimeout as sleep } from 'node:timers/promises';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { expectProblem } from './support/contract.js';
import { engines, startTestService, type TestService } from './support/service.js';
import { expectFramesMatchSpec, readSse, type SseFrame } from './support/sse.js';

const LLM_BASE_URL = 'http://llm.invalid/v1';

/** What the mocked OpenAI-compatible upstream does next, and what it saw. */
const upstream = {
  tokens: ['Lake ', 'Lugano ', 'has ', 'family ', 'resorts.'],
  delayMs: 100,
  firstDelayMs: 0,
  failWith: 0,
  requests: [] as { messages: { role: string; content: string }[]; model: string }[],
  sentAt: [] as number[],
  abortedAt: undefined as number | undefined,
};

const encoder = new TextEncoder();
const chunk = (body: object) => encoder.encode(`data: ${JSON.stringify(body)}\n\n`);

const mock = setupServer(
  http.post(`${LLM_BASE_URL}/chat/completions`, async ({ request }) => {
    const body = (await request.json()) as (typeof upstream.requests)[number];
    upstream.requests.push(body);
    if (upstream.failWith) return HttpResponse.json({ error: { message: 'upstream broke' } }, { status: upstream.failWith });
    request.signal.addEventListener('abort', () => (upstream.abortedAt ??= performance.now()));
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          await sleep(upstream.firstDelayMs, undefined, { signal: request.signal });
          for (const [index, token] of upstream.tokens.entries()) {
            if (index > 0) await sleep(upstream.delayMs, undefined, { signal: request.signal });
            upstream.sentAt.push(performance.now());
            controller.enqueue(chunk({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: token }, finish_reason: null }] }));
          }
          controller.enqueue(chunk({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
          controller.enqueue(chunk({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } }));
          controller.enqueue(encoder.encode('data: [DONE]\n\n'));
          controller.close();
        } catch {
          upstream.abortedAt ??= performance.now();
        }
      },
      cancel() {
        upstream.abortedAt ??= performance.now();
      },
    });
    return new HttpResponse(stream, { headers: { 'content-type': 'text/event-stream' } });
  }),
);

beforeAll(() => mock.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => mock.close());

describe.each(engines())('chat on %s', (engine) => {
  let service: TestService;
  let token: string;
  beforeAll(async () => {
    service = await startTestService(engine, {
      env: { LLM_BASE_URL, LLM_MODEL: 'test-model', LLM_TIMEOUT_MS: '1500', SSE_HEARTBEAT_MS: '150', RATE_LIMIT_PER_MINUTE: '0' },
    });
    token = (await service.createKey(['chat'], { owner: 'acme' })).token;
  });
  afterAll(async () => {
    await service?.stop();
  });
  beforeEach(() => {
    Object.assign(upstream, { delayMs: 100, firstDelayMs: 0, failWith: 0, requests: [], sentAt: [], abortedAt: undefined });
  });

  const post = (path: '/chat' | '/chat/stream', body: object, init: RequestInit = {}) =>
    fetch(`${service.url}${path}`, {
      method: 'POST',
      ...init,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
      body: JSON.stringify(body),
    });

  it('streams each token as the model sends it, also with compression, in frames the spec describes', async () => {
    const started = performance.now();
    const response = await post('/chat/stream', { message: 'Suggest a lake resort' }, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('content-encoding')).toBeNull();
    const { frames } = await readSse(response);
    expectFramesMatchSpec('streamChat', frames);
    const tokens = frames.filter((frame) => (frame.data as { type: string }).type === 'token');
    expect(tokens.map((frame) => (frame.data as { content: string }).content).join('')).toBe(upstream.tokens.join(''));
    expect(tokens[0]!.at - started).toBeLessThan(upstream.sentAt.at(-1)! - started - 250);
    expect(frames.at(-1)!.data).toMatchObject({ type: 'done', model: 'test-model', finish_reason: 'stop', usage: { total_tokens: 17 } });
  });

  it('sends the earlier messages as context and stores the conversation', async () => {
    const first = await readSse(await post('/chat/stream', { message: 'First question' }));
    const done = first.frames.at(-1)!.data as { conversation_id: string };
    await readSse(await post('/chat/stream', { message: 'Second question', conversation_id: done.conversation_id, temperature: 0.2, max_tokens: 50 }));
    expect(upstream.requests.at(-1)!.messages).toEqual([
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: upstream.tokens.join('') },
      { role: 'user', content: 'Second question' },
    ]);
    const client = service.client(token);
    const conversation = await client.GET('/chat/conversations/{conversation_id}', { params: { path: { conversation_id: done.conversation_id } } });
    expect(conversation.data!.messages.map((message) => [message.role, message.complete])).toEqual([
      ['user', true],
      ['assistant', true],
      ['user', true],
      ['assistant', true],
    ]);
    const listed = await client.GET('/chat/conversations');
    expect(listed.data!.items[0]).toMatchObject({ conversation_id: done.conversation_id, message_count: 4, title: 'First question' });
    const other = service.client((await service.createKey(['chat'], { owner: 'globex' })).token);
    expect((await other.GET('/chat/conversations/{conversation_id}', { params: { path: { conversation_id: done.conversation_id } } })).response.status).toBe(404);
    const continued = await fetch(`${service.url}/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${(await service.createKey(['chat'], { owner: 'globex' })).token}` },
      body: JSON.stringify({ message: 'hijack', conversation_id: done.conversation_id }),
    });
    await expectProblem(continued, 404);
  });

  it('aborts the upstream request within 100 ms when the client goes away, and marks the answer incomplete', async () => {
    upstream.delayMs = 300;
    const controller = new AbortController();
    const response = await post('/chat/stream', { message: 'Abort me' }, { signal: controller.signal });
    let conversationId = '';
    let abortedAt = 0;
    await readSse(response, (frame: SseFrame) => {
      conversationId = (frame.data as { conversation_id: string }).conversation_id;
      abortedAt = performance.now();
      controller.abort();
      return true;
    }).catch(() => undefined);
    for (let i = 0; i < 50 && upstream.abortedAt === undefined; i++) await sleep(10);
    expect(upstream.abortedAt).toBeDefined();
    expect(upstream.abortedAt! - abortedAt).toBeLessThan(100);
    // The cut-short answer is stored once its usage is recorded: poll for it as a client would.
    await vi.waitFor(
      async () => {
        const { data } = await service.client(token).GET('/chat/conversations/{conversation_id}', { params: { path: { conversation_id: conversationId } } });
        expect(data!.messages.at(-1)).toMatchObject({ role: 'assistant', complete: false, content: 'Lake ' });
      },
      { timeout: 15_000, interval: 50 },
    );
  });

  it('sends only the latest 100 messages of a long conversation as context', async () => {
    const delays = { delayMs: upstream.delayMs, firstDelayMs: upstream.firstDelayMs };
    Object.assign(upstream, { delayMs: 0, firstDelayMs: 0 });
    try {
      let conversation_id: string | undefined;
      for (let turn = 1; turn <= 51; turn++) {
        const response = await post('/chat', { message: `Question ${turn}`, ...(conversation_id ? { conversation_id } : {}) });
        expect(response.status).toBe(200);
        conversation_id ??= ((await response.json()) as { conversation_id: string }).conversation_id;
      }
      // 102 messages stored; the next question goes with the latest 100 of them.
      await post('/chat', { message: 'Question 52', conversation_id });
      const sent = upstream.requests.at(-1)!.messages;
      expect(sent).toHaveLength(101);
      expect(sent[0]).toEqual({ role: 'user', content: 'Question 2' });
      expect(sent.at(-1)).toEqual({ role: 'user', content: 'Question 52' });
    } finally {
      Object.assign(upstream, delays);
    }
  }, 120_000);

  it('answers the whole reply as JSON on POST /chat, and aborts upstream when that client goes away', async () => {
    const response = await post('/chat', { message: 'Whole answer please' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ content: upstream.tokens.join(''), model: 'test-model', finish_reason: 'stop' });
    upstream.delayMs = 300;
    upstream.abortedAt = undefined;
    const controller = new AbortController();
    const pending = post('/chat', { message: 'Never mind' }, { signal: controller.signal }).catch(() => undefined);
    await sleep(150);
    const abortedAt = performance.now();
    controller.abort();
    await pending;
    for (let i = 0; i < 50 && upstream.abortedAt === undefined; i++) await sleep(10);
    expect(upstream.abortedAt! - abortedAt).toBeLessThan(100);
  });

  it('turns an upstream error into an error frame, or 502', async () => {
    upstream.failWith = 500;
    const { frames } = await readSse(await post('/chat/stream', { message: 'Break' }));
    expectFramesMatchSpec('streamChat', frames);
    expect(frames.at(-1)!.data).toMatchObject({ type: 'error', code: 'upstream_error' });
    const problem = await expectProblem(await post('/chat', { message: 'Break' }), 502);
    expect(problem.type).toBe('urn:portico:problem:upstream');
  });

  it('turns an upstream timeout into an error frame, or 504, with heartbeats while waiting', async () => {
    upstream.firstDelayMs = 5000;
    const { frames, comments } = await readSse(await post('/chat/stream', { message: 'Slow' }));
    expect(comments).toContain('heartbeat');
    expect(frames.at(-1)!.data).toMatchObject({ type: 'error', code: 'upstream_timeout' });
    await expectProblem(await post('/chat', { message: 'Slow' }), 504);
  });

  it('validates the request as the spec says (seed 001 limits)', async () => {
    const problem = await expectProblem(await post('/chat/stream', { message: '', temperature: 3, max_tokens: 5000 }), 400);
    expect(problem.errors!.map((error) => error.pointer).sort()).toEqual(['/max_tokens', '/message', '/temperature']);
    await expectProblem(await post('/chat/stream', { message: 'x'.repeat(4001) }), 400);
  });

  it('carries the same frames over the /ws/chat WebSocket', async () => {
    const url = `${service.url.replace('http', 'ws')}/ws/chat?token=${token}`;
    const socket = new WebSocket(url);
    const frames: SseFrame[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => socket.send(JSON.stringify({ message: 'Over a socket' })));
      socket.on('message', (data) => {
        const frame = { event: 'message', id: undefined, data: JSON.parse(String(data)) as { type: string }, at: performance.now() };
        frames.push(frame);
        if (frame.data.type !== 'token') resolve();
      });
      socket.on('error', reject);
    });
    socket.close();
    expectFramesMatchSpec('streamChat', frames);
    expect(frames.at(-1)!.data).toMatchObject({ type: 'done' });
    const refused = new WebSocket(`${service.url.replace('http', 'ws')}/ws/chat?token=ptk_wrong`);
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
    // The auth scheme is case-insensitive (RFC 9110), as on every HTTP route.
    const lowercase = new WebSocket(`${service.url.replace('http', 'ws')}/ws/chat`, { headers: { authorization: `bearer ${token}` } });
    const opened = await new Promise<number | 'open'>((resolve) => {
      lowercase.on('open', () => resolve('open'));
      lowercase.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(opened).toBe('open');
    lowercase.close();
  });

  it('closes a /ws/chat socket that breaks the protocol and keeps serving everyone else', async () => {
    const url = `${service.url.replace('http', 'ws')}/ws/chat?token=${token}`;
    const closeCodeAfter = (send: (socket: WebSocket) => void) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(url);
        socket.on('open', () => send(socket));
        socket.on('close', (code) => resolve(code));
        socket.on('error', reject);
      });
    // A text message over the 64 KiB limit, then a text frame that is not UTF-8.
    expect(await closeCodeAfter((socket) => socket.send('x'.repeat(65 * 1024)))).toBe(1009);
    expect(await closeCodeAfter((socket) => socket.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false }))).toBe(1007);
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
  });
});

describe('the built-in development model', () => {
  it('streams a deterministic reply that names itself', async () => {
    const service = await startTestService('pglite', { env: { DEV_MODEL_TOKEN_DELAY_MS: '1' } });
    try {
      const token = (await service.createKey(['chat'])).token;
      const ask = async () =>
        readSse(
          await fetch(`${service.url}/chat/stream`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ message: 'hello there' }),
          }),
        );
      const [a, b] = [await ask(), await ask()];
      const text = (reading: typeof a) => reading.frames.flatMap((frame) => ((frame.data as { type: string }).type === 'token' ? [(frame.data as { content: string }).content] : [])).join('');
      expect(text(a)).toBe(text(b));
      expect(text(a)).toContain('portico-dev-echo');
      expect(a.frames.at(-1)!.data).toMatchObject({ type: 'done', model: 'portico-dev-echo' });
    } finally {
      await service.stop();
    }
  });
});
