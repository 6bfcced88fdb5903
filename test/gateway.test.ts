import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** How long to wait for what a client polls for (an aborted answer's usage, a listing): generous, for a loaded machine. */
const POLL = { timeout: 15_000, interval: 50 };
import { expectSchema } from './support/contract.js';
import { engines, startTestService, type TestService } from './support/service.js';
import { StandInUpstream } from './support/upstream.js';

const TOKENS = ['Lake ', 'Lugano ', 'has ', 'family ', 'resorts.'];
const MESSAGES = [{ role: 'user' as const, content: 'Suggest a lake resort' }];
const UPSTREAM_KEY = 'upstream-secret-never-the-client-key';

/** The stand-in upstreams: one answers, one always 503, one slow to its first token, one breaking mid-stream, one dripping. */
interface StandIns {
  good: StandInUpstream;
  failing: StandInUpstream;
  failing2: StandInUpstream;
  slow: StandInUpstream;
  breaking: StandInUpstream;
  drip: StandInUpstream;
  refusing: StandInUpstream;
}

function modelsFile(upstreams: StandIns): string {
  const to = (upstream: StandInUpstream, model: string) => ({ base_url: upstream.baseUrl, model, api_key_env: 'STANDIN_KEY' });
  const file = join(mkdtempSync(join(tmpdir(), 'portico-models-')), 'models.yaml');
  const models = [
    { name: 'direct', upstreams: [to(upstreams.good, 'good-model')] },
    { name: 'fast', upstreams: [to(upstreams.failing, 'failing-model'), to(upstreams.good, 'good-model')] },
    { name: 'patient', upstreams: [to(upstreams.slow, 'slow-model'), to(upstreams.good, 'good-model')] },
    { name: 'flaky', upstreams: [to(upstreams.breaking, 'breaking-model')] },
    { name: 'drip', upstreams: [to(upstreams.drip, 'drip-model')] },
    { name: 'tripping', upstreams: [to(upstreams.failing2, 'failing-model'), to(upstreams.good, 'good-model')] },
    { name: 'strict', upstreams: [to(upstreams.refusing, 'strict-model'), to(upstreams.good, 'good-model')] },
  ];
  // YAML is JSON's superset: the file is written as JSON, read as YAML.
  writeFileSync(file, JSON.stringify({ models }));
  return file;
}

async function metric(service: TestService, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith(`${name}{`) && Object.entries(labels).every(([label, value]) => row.includes(`${label}="${value}"`)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe.each(engines())('the OpenAI-compatible gateway on %s', (engine) => {
  let service: TestService;
  let upstreams: StandIns;
  let token: string;
  let keyId: string;
  let openai: OpenAI;
  const sdk = (apiKey: string) => new OpenAI({ baseURL: `${service.url}/v1`, apiKey, maxRetries: 0 });
  const usageOf = async (apiKey: string) => (await service.client(apiKey).GET('/usage')).data!.items;

  beforeAll(async () => {
    upstreams = {
      good: await StandInUpstream.start({ kind: 'ok', tokens: TOKENS, usage: { prompt_tokens: 11, completion_tokens: 5 } }),
      failing: await StandInUpstream.start({ kind: 'status', status: 503 }),
      failing2: await StandInUpstream.start({ kind: 'status', status: 503 }),
      slow: await StandInUpstream.start({ kind: 'ok', tokens: TOKENS, firstDelayMs: 30_000 }),
      breaking: await StandInUpstream.start({ kind: 'break', tokens: ['Lake ', 'Lugano '], tokenDelayMs: 20 }),
      drip: await StandInUpstream.start({ kind: 'ok', tokens: Array.from({ length: 100 }, (_, i) => `w${i} `), tokenDelayMs: 100 }),
      refusing: await StandInUpstream.start({ kind: 'status', status: 400 }),
    };
    service = await startTestService(engine, {
      env: { MODELS_FILE: modelsFile(upstreams), STANDIN_KEY: UPSTREAM_KEY, LLM_FIRST_TOKEN_TIMEOUT_MS: '2000', BREAKER_FAILURES: '3', BREAKER_COOLDOWN_MS: '600000', RATE_LIMIT_PER_MINUTE: '0' },
    });
    const key = await service.createKey(['chat'], { owner: 'acme' });
    token = key.token;
    keyId = key.keyId;
    openai = sdk(token);
  });
  afterAll(async () => {
    await service?.stop();
    await Promise.all(Object.values(upstreams ?? {}).map((upstream: StandInUpstream) => upstream.stop()));
  });

  it('answers chat.completions.create without streaming, asking the upstream with its own key and for usage', async () => {
    const before = upstreams.good.requests.length;
    const completion = await openai.chat.completions.create({ model: 'direct', messages: MESSAGES });
    expectSchema('ChatCompletion', completion);
    expect(completion).toMatchObject({ object: 'chat.completion', model: 'direct', choices: [{ index: 0, message: { role: 'assistant', content: TOKENS.join('') }, finish_reason: 'stop' }] });
    expect(completion.usage).toEqual({ prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 });
    const sent = upstreams.good.requests[before]!;
    expect(sent.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent.body).toMatchObject({ model: 'good-model', messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
  });

  it('streams chunks as the SDK reads them, with usage last when stream_options.include_usage is set', async () => {
    const stream = await openai.chat.completions.create({ model: 'direct', messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    for (const chunk of chunks) expectSchema('ChatCompletionChunk', chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(TOKENS.join(''));
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 } });
    const without = await openai.chat.completions.create({ model: 'direct', messages: MESSAGES, stream: true });
    const plain: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of without) plain.push(chunk);
    expect(plain.every((chunk) => !chunk.usage)).toBe(true);
  });

  it('lists the models a key may use, and refuses the others with 403', async () => {
    const all = await openai.models.list();
    expect(all.data.map((model) => model.id)).toEqual(['direct', 'fast', 'patient', 'flaky', 'drip', 'tripping', 'strict']);
    const limited = sdk((await service.createKey(['chat'], { owner: 'acme', models: ['direct'] })).token);
    expect((await limited.models.list()).data).toEqual([expect.objectContaining({ id: 'direct', object: 'model', owned_by: 'portico' })]);
    const refused = await limited.chat.completions.create({ model: 'fast', messages: MESSAGES }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused as APIError).code).toBe('forbidden');
  });

  it('retrieves one model as models.retrieve() asks, with 404 for an unknown name and 403 for one the key may not use', async () => {
    const all = await openai.models.list();
    expect(await openai.models.retrieve('fast')).toEqual(all.data.find((model) => model.id === 'fast'));
    const unknown = await openai.models.retrieve('gpt-9').catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    const limited = sdk((await service.createKey(['chat'], { owner: 'acme', models: ['direct'] })).token);
    expect((await limited.models.retrieve('direct')).id).toBe('direct');
    const refused = await limited.models.retrieve('fast').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused as APIError).message).toContain('it may use direct');
  });

  it('raises the SDK\'s typed errors from OpenAI\'s error object', async () => {
    const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as APIError);
    const unauthenticated = await failure(sdk('ptk_not-a-key').models.list());
    expect(unauthenticated).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthenticated?.error).toEqual({ message: 'A valid bearer token is required.', type: 'authentication_error', param: null, code: 'invalid_token' });
    const noScope = await failure(sdk((await service.createKey(['events:read'])).token).chat.completions.create({ model: 'direct', messages: MESSAGES }));
    expect(noScope).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(noScope?.code).toBe('insufficient_scope');
    const unknown = await failure(openai.chat.completions.create({ model: 'gpt-9', messages: MESSAGES }));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    const invalid = await failure(openai.chat.completions.create({ model: 'direct', messages: [] }));
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    expect(invalid?.error).toMatchObject({ type: 'invalid_request_error', param: 'messages', code: 'validation' });
    const broke = sdk((await service.createKey(['chat'], { tokenBudget: { tokens: 1, period: 'day' } })).token);
    await broke.chat.completions.create({ model: 'direct', messages: MESSAGES });
    const limited = await failure(broke.chat.completions.create({ model: 'direct', messages: MESSAGES }));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    // A request the upstream refuses would be refused by any other: it is the client's 400, with the upstream's words, not a fallback.
    const answered = upstreams.good.requests.length;
    const refused = await failure(openai.chat.completions.create({ model: 'strict', messages: MESSAGES }));
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused?.message).toContain('stand-in answers 400');
    expect(upstreams.good.requests.length).toBe(answered);
    for (const error of [unauthenticated, noScope, unknown, invalid, limited, refused]) expectSchema('OpenAiError', { error: error?.error });
  });

  it('falls back to the next upstream on a 503 before the first token, and usage and /metrics show it', async () => {
    const key = await service.createKey(['chat'], { owner: 'acme' });
    const failed = upstreams.failing.requests.length;
    const answered = upstreams.good.requests.length;
    const completion = await sdk(key.token).chat.completions.create({ model: 'fast', messages: MESSAGES });
    expect(completion.choices[0]!.message.content).toBe(TOKENS.join(''));
    expect(upstreams.failing.requests.length).toBe(failed + 1);
    expect(upstreams.good.requests.length).toBe(answered + 1);
    expect(await usageOf(key.token)).toEqual([expect.objectContaining({ key_id: key.keyId, model: 'fast', requests: 1, errors: 0, total_tokens: 16, estimated: false })]);
    expect(await metric(service, 'gateway_upstream_requests_total', { upstream: `${upstreams.failing.baseUrl} failing-model`, outcome: 'error' })).toBeGreaterThanOrEqual(1);
    expect(await metric(service, 'gateway_upstream_requests_total', { upstream: `${upstreams.good.baseUrl} good-model`, outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(await metric(service, 'gateway_upstream_time_to_first_token_seconds_count', { upstream: `${upstreams.good.baseUrl} good-model` })).toBeGreaterThanOrEqual(1);
  });

  it('falls back when the first upstream sends no token within LLM_FIRST_TOKEN_TIMEOUT_MS', async () => {
    const stream = await openai.chat.completions.create({ model: 'patient', messages: MESSAGES, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(TOKENS.join(''));
    expect(await metric(service, 'gateway_upstream_requests_total', { upstream: `${upstreams.slow.baseUrl} slow-model`, outcome: 'timeout' })).toBe(1);
    // The slow upstream's request was abandoned, and its connection closed.
    await vi.waitFor(() => expect(upstreams.slow.requests.at(-1)!.closedAt).toBeDefined(), POLL);
  });

  it('skips an upstream that keeps failing (circuit breaker)', async () => {
    for (let i = 0; i < 6; i++) await openai.chat.completions.create({ model: 'tripping', messages: MESSAGES });
    expect(upstreams.failing2.requests.length).toBe(3);
    const label = `${upstreams.failing2.baseUrl} failing-model`;
    expect(await metric(service, 'gateway_upstream_requests_total', { upstream: label, outcome: 'skipped' })).toBe(3);
    expect(await metric(service, 'gateway_upstream_breaker_open', { upstream: label })).toBe(1);
  });

  it('ends a stream broken after its first tokens with an error the SDK raises, never a clean end, and counts what was delivered', async () => {
    const key = await service.createKey(['chat']);
    const stream = await sdk(key.token).chat.completions.create({ model: 'flaky', messages: MESSAGES, stream: true });
    let text = '';
    const ended = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(text).toBe('Lake Lugano ');
    expect(ended).toBeInstanceOf(APIError);
    expect((ended as APIError).error).toMatchObject({ type: 'server_error', code: 'upstream' });
    const [usage] = await usageOf(key.token);
    expect(usage).toMatchObject({ model: 'flaky', requests: 1, errors: 1, estimated: true });
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('closes the upstream connection within 1 s of the client going away, streaming or not, and counts the delivered part', async () => {
    const key = await service.createKey(['chat']);
    const client = sdk(key.token);
    const streaming = new AbortController();
    const stream = await client.chat.completions.create({ model: 'drip', messages: MESSAGES, stream: true }, { signal: streaming.signal });
    let received = 0;
    await (async () => {
      for await (const _chunk of stream) if (++received === 3) break;
    })();
    const abortedAt = performance.now();
    await vi.waitFor(() => expect(upstreams.drip.requests.at(-1)!.closedAt).toBeDefined(), POLL);
    expect(upstreams.drip.requests.at(-1)!.closedAt! - abortedAt).toBeLessThan(1_000);

    const whole = new AbortController();
    const pending = client.chat.completions.create({ model: 'drip', messages: MESSAGES }, { signal: whole.signal }).catch((error: unknown) => error);
    await vi.waitFor(() => expect(upstreams.drip.requests.length).toBe(2), POLL);
    whole.abort();
    const cancelledAt = performance.now();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    await vi.waitFor(() => expect(upstreams.drip.requests.at(-1)!.closedAt).toBeDefined(), POLL);
    expect(upstreams.drip.requests.at(-1)!.closedAt! - cancelledAt).toBeLessThan(1_000);

    await vi.waitFor(async () => expect((await usageOf(key.token))[0]).toMatchObject({ model: 'drip', requests: 2, estimated: true }), POLL);
    expect((await usageOf(key.token))[0]!.total_tokens).toBeGreaterThan(0);
  });

  it('holds a token budget under concurrent requests to within the requests in flight, then answers 429 until the period ends', async () => {
    const budget = 40;
    const key = await service.createKey(['chat'], { tokenBudget: { tokens: budget, period: 'month' } });
    const client = sdk(key.token);
    const concurrent = 6;
    const outcomes = await Promise.allSettled(Array.from({ length: concurrent }, () => client.chat.completions.create({ model: 'direct', messages: MESSAGES })));
    const spent = (await usageOf(key.token)).reduce((sum, row) => sum + row.total_tokens, 0);
    const perRequest = 16;
    // Every request admitted while the budget had room; at most the ones in flight overrun it.
    expect(spent).toBeLessThanOrEqual(budget - 1 + concurrent * perRequest);
    expect(spent).toBe(outcomes.filter((outcome) => outcome.status === 'fulfilled').length * perRequest);
    const refused = await client.chat.completions.create({ model: 'direct', messages: MESSAGES }).catch((error: unknown) => error as APIError);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const now = new Date();
    const periodEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const retryAfter = Number((refused as APIError).headers?.get('retry-after'));
    expect(Math.abs(retryAfter - (periodEnd - now.getTime()) / 1000)).toBeLessThan(5);
    // The key shows what its budget counted, the period, and when it resets (what Retry-After points at).
    const { data: shown } = await service.client(key.token).GET('/me');
    expect(shown!.usage).toEqual({
      period: 'month',
      period_start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(),
      resets_at: new Date(periodEnd).toISOString(),
      total_tokens: spent,
    });
    // The budget is the key's, on /chat as on /v1.
    const chat = await fetch(`${service.url}/chat`, { method: 'POST', headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi', model: 'direct' }) });
    expect(chat.status).toBe(429);
    expect(chat.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('sequential requests stop exactly at the budget', async () => {
    const key = await service.createKey(['chat'], { tokenBudget: { tokens: 40, period: 'day' }, tokensPerMinute: 1_000 });
    const client = sdk(key.token);
    let answered = 0;
    for (;;) {
      const outcome = await client.chat.completions.create({ model: 'direct', messages: MESSAGES }).then(() => 'ok', (error: unknown) => error);
      if (outcome !== 'ok') {
        expect(outcome).toBeInstanceOf(OpenAI.RateLimitError);
        break;
      }
      answered += 1;
    }
    // 0, 16 and 32 tokens spent were below 40; 48 is not.
    expect(answered).toBe(3);
    const today = new Date();
    const { data: shown } = await service.client(key.token).GET('/me');
    expect(shown!.usage).toMatchObject({
      period: 'day',
      period_start: new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())).toISOString(),
      total_tokens: 48,
    });
  });

  it('adds usage up to exactly what the upstreams reported, and records each completion as an event', async () => {
    const key = await service.createKey(['chat', 'events:read'], { owner: 'ledger' });
    const client = sdk(key.token);
    const reported = upstreams.good.reportedTokens;
    await client.chat.completions.create({ model: 'direct', messages: MESSAGES });
    await client.chat.completions.create({ model: 'fast', messages: MESSAGES, stream: true }).then(async (stream) => {
      for await (const _chunk of stream);
    });
    const chat = await fetch(`${service.url}/chat`, { method: 'POST', headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi', model: 'fast' }) });
    expect(await chat.json()).toMatchObject({ model: 'fast', content: TOKENS.join(''), usage: { total_tokens: 16 } });
    const usage = await usageOf(key.token);
    expect(usage.reduce((sum, row) => sum + row.total_tokens, 0)).toBe(upstreams.good.reportedTokens - reported);
    expect(usage.every((row) => !row.estimated && row.errors === 0)).toBe(true);
    expect(usage.map((row) => [row.model, row.requests]).sort()).toEqual([['direct', 1], ['fast', 2]]);
    // Listings show a row once every transaction older than it has ended: poll as a client would.
    const listed = () => service.client(key.token).GET('/events', { params: { query: { event_type: 'completion' } } });
    await vi.waitFor(async () => expect((await listed()).data!.items).toHaveLength(3), POLL);
    const events = (await listed()).data!.items;
    expect(events[0]).toMatchObject({ event_type: 'completion', source: 'system', event_data: { model: 'fast', upstream: 'good-model', upstream_position: 2, total_tokens: 16, outcome: 'ok', route: 'chat' } });
    expect(events[0]!.event_data).toHaveProperty('latency_ms');
    // The dashboard's gateway tokens are these events'.
    const stats = await service.client(key.token).GET('/stats', { params: { query: { window: '1h' } } });
    expect(stats.data!.totals.gateway_tokens).toBe(48);
  });

  it('shows a key only its own usage, and an admin anyone\'s with filters', async () => {
    const admin = service.client(service.adminToken);
    const all = (await admin.GET('/usage', { params: { query: { owner: 'acme', model: 'direct' } } })).data!.items;
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((row) => row.owner === 'acme' && row.model === 'direct')).toBe(true);
    const mine = (await admin.GET('/usage', { params: { query: { key_id: keyId } } })).data!.items;
    expect(mine.every((row) => row.key_id === keyId)).toBe(true);
    const other = await service.createKey(['chat'], { owner: 'acme' });
    expect(await usageOf(other.token)).toEqual([]);
    expect((await service.client(other.token).GET('/usage', { params: { query: { key_id: keyId } } })).response.status).toBe(403);
    const paged = await admin.GET('/usage', { params: { query: { limit: 1 } } });
    expect(paged.data!.next_cursor).not.toBeNull();
    const next = await admin.GET('/usage', { params: { query: { limit: 1, cursor: paged.data!.next_cursor! } } });
    expect(next.data!.items[0]).not.toEqual(paged.data!.items[0]);
  });
});
