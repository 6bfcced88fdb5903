import { connect } from 'node:net';
import OpenAI, { RateLimitError } from 'openai';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { engines, startTestService, type TestService } from './support/service.js';
import { StandInUpstream } from './support/upstream.js';

const MESSAGES = [{ role: 'user' as const, content: 'Suggest a lake resort' }];
// The stand-in reports 11 + 5 = 16 tokens per answer: a budget of 40 admits 3 (0, 16, 32 spent) and refuses the 4th.
const BUDGET = 40;

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await new Promise<boolean>((resolve) => {
  const { hostname, port } = new URL(redisUrl);
  const socket = connect(Number(port || 6379), hostname, () => {
    socket.end();
    resolve(true);
  });
  socket.on('error', () => resolve(false));
});
if (!redisUp) console.warn(`NOTICE: no Redis at ${redisUrl}; the gateway's Redis budget tests are skipped.`);

let upstream: StandInUpstream;
beforeAll(async () => {
  upstream = await StandInUpstream.start({ kind: 'ok', tokens: ['Lake ', 'Lugano ', 'has ', 'family ', 'resorts.'], usage: { prompt_tokens: 11, completion_tokens: 5 } });
});
afterAll(async () => {
  await upstream?.stop();
});

const sdk = (service: TestService, token: string) => new OpenAI({ baseURL: `${service.url}/v1`, apiKey: token, maxRetries: 0 });
const env = (extra: Record<string, string> = {}) => ({ LLM_BASE_URL: upstream.baseUrl, LLM_MODEL: 'standin', RATE_LIMIT_PER_MINUTE: '0', ...extra });

/** Requests until the first refusal; returns how many were answered (and checks the refusal is a budget's 429). */
async function answeredUntilRefused(client: OpenAI): Promise<number> {
  for (let answered = 0; answered < 10; answered++) {
    const outcome = await client.chat.completions.create({ model: 'standin', messages: MESSAGES }).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (outcome !== undefined) {
      expect(outcome).toBeInstanceOf(RateLimitError);
      return answered;
    }
  }
  return 10;
}

describe.each(engines().filter((engine) => engine === 'postgres'))('budgets across processes on %s', (engine) => {
  it.each([['Postgres counters', {}], ...(redisUp ? [['Redis counters', { REDIS_URL: redisUrl }] as const] : [])] as const)(
    'holds with %s: what one process spent, another refuses',
    async (_name, extra) => {
      const first = await startTestService(engine, { env: env(extra), keepDatabase: true });
      const second = await startTestService(engine, { config: first.config });
      try {
        const key = await first.createKey(['chat'], { tokenBudget: { tokens: BUDGET, period: 'week' } });
        expect(await answeredUntilRefused(sdk(first, key.token))).toBe(3);
        expect(await answeredUntilRefused(sdk(second, key.token))).toBe(0);
      } finally {
        await first.stop();
        await second.stop();
      }
    },
  );
});

describe.each(engines())('budgets and the chat routes on %s', (engine) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(engine, { env: env(redisUp ? { REDIS_URL: redisUrl } : {}) });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it.runIf(redisUp)('keeps counting in Redis, and a counter Redis lost is loaded from Postgres', async () => {
    const key = await service.createKey(['chat'], { tokenBudget: { tokens: BUDGET, period: 'day' }, tokensPerMinute: 1_000 });
    expect(await answeredUntilRefused(sdk(service, key.token))).toBe(3);
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    try {
      // The day's counter and the minute's (two minutes' when the requests straddled one).
      const counters = await redis.keys(`portico:tokens:${key.keyId}:*`);
      const day = counters.find((counter) => counter.includes(':day:'));
      expect(day).toBeDefined();
      expect(await redis.get(day!)).toBe('48');
      await redis.del(counters);
    } finally {
      await redis.quit();
    }
    expect(await answeredUntilRefused(sdk(service, key.token))).toBe(0);
  });

  it('counts /chat and /ws/chat answers against the same key, and refuses them over budget', async () => {
    const key = await service.createKey(['chat'], { tokenBudget: { tokens: BUDGET, period: 'month' } });
    const post = () =>
      fetch(`${service.url}/chat`, { method: 'POST', headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Hi' }) });
    expect((await post()).status).toBe(200);
    const socket = new WebSocket(`${service.url.replace('http', 'ws')}/ws/chat`, { headers: { authorization: `Bearer ${key.token}` } });
    await new Promise((resolve) => socket.once('open', resolve));
    const frames: { type: string; code?: string }[] = [];
    const send = () =>
      new Promise<void>((resolve) => {
        socket.send(JSON.stringify({ message: 'Hi' }));
        const onMessage = (data: WebSocket.RawData) => {
          const frame = JSON.parse(String(data)) as { type: string };
          frames.push(frame);
          if (frame.type !== 'token') {
            socket.off('message', onMessage);
            resolve();
          }
        };
        socket.on('message', onMessage);
      });
    await send();
    expect(frames.at(-1)).toMatchObject({ type: 'done', model: 'standin', usage: { total_tokens: 16 } });
    await send();
    await send();
    expect(frames.at(-1)).toMatchObject({ type: 'error' });
    expect(JSON.stringify(frames.at(-1))).toContain('budget');
    socket.close();
    expect((await post()).status).toBe(429);
    const usage = (await service.client(key.token).GET('/usage')).data!.items;
    expect(usage).toEqual([expect.objectContaining({ model: 'standin', requests: 3, total_tokens: 48, estimated: false })]);
  });
});
