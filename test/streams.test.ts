import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PorticoClient } from '../clients/typescript/src/index.js';
import { runSimulation } from '../bench/simulate.js';
import { expectProblem } from './support/contract.js';
import { engines, startTestService, type TestService } from './support/service.js';
import { expectFramesMatchSpec, readSse, type SseFrame } from './support/sse.js';

/** A stand-in OpenAI-compatible server: ten tokens, one every 100 ms, over a real socket. */
async function standInModel() {
  const state = { lastTokenAt: 0, closedAt: undefined as number | undefined };
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.on('close', () => {
      if (!res.writableFinished) state.closedAt = performance.now();
    });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent === 10) {
        clearInterval(timer);
        res.end('data: [DONE]\n\n');
        return;
      }
      state.lastTokenAt = performance.now();
      res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', model: 'stand-in', choices: [{ index: 0, delta: { content: `t${sent++} ` } }] })}\n\n`);
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, state, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('chat through curl and a stand-in model server', () => {
  let model: Awaited<ReturnType<typeof standInModel>>;
  let service: TestService;
  let token: string;
  beforeAll(async () => {
    model = await standInModel();
    service = await startTestService('pglite', { env: { LLM_BASE_URL: model.url } });
    token = (await service.createKey(['chat'])).token;
  });
  afterAll(async () => {
    await service?.stop();
    await model?.close();
  });

  const curl = () =>
    spawn('curl', ['-sN', '-X', 'POST', `${service.url}/chat/stream`, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '-d', '{"message":"hi"}']);

  it('delivers the first token long before the last one is sent', async () => {
    const child = curl();
    const arrivals: number[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.includes('"type":"token"')) arrivals.push(performance.now());
      if (line.includes('"type":"done"')) break;
    }
    expect(arrivals).toHaveLength(10);
    expect(model.state.lastTokenAt - arrivals[0]!).toBeGreaterThan(700);
  });

  it('closes the upstream connection when curl is killed', async () => {
    model.state.closedAt = undefined;
    const child = curl();
    let killedAt = 0;
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.includes('"type":"token"')) {
        killedAt = performance.now();
        child.kill('SIGKILL');
        break;
      }
    }
    for (let i = 0; i < 100 && model.state.closedAt === undefined; i++) await sleep(10);
    expect(model.state.closedAt).toBeDefined();
    expect(model.state.closedAt! - killedAt).toBeLessThan(500);
  });
});

describe.each(engines())('task and event streams on %s', (engine) => {
  let service: TestService;
  let admin: PorticoClient;
  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
    admin = service.client(service.adminToken);
    await runSimulation({ client: admin, tasks: 30, evaluationUsers: 10, seed: 4, concurrency: 8 });
  });
  afterAll(async () => {
    await service?.stop();
  });

  const open = (path: string, lastEventId?: string, signal?: AbortSignal) =>
    fetch(`${service.url}${path}`, {
      headers: { authorization: `Bearer ${service.adminToken}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      ...(signal ? { signal } : {}),
    });

  it('resumes a task stream cut after STARTED, delivering the rest exactly once', async () => {
    const { data: task } = await admin.POST('/train/start', { body: { epochs: 400 } });
    const path = `/train/${task!.task_id}/events`;
    const cut = new AbortController();
    const first = await readSse(await open(path, undefined, cut.signal), (frame) => (frame.data as { status: string }).status === 'STARTED').catch(() => ({ frames: [] as SseFrame[] }));
    cut.abort();
    const started = first.frames.at(-1)!;
    expect((started.data as { status: string }).status).toBe('STARTED');
    const rest = await readSse(await open(path, started.id));
    expectFramesMatchSpec('streamTrainingEvents', [...first.frames, ...rest.frames]);
    const ids = rest.frames.map((frame) => Number(frame.id));
    expect(ids[0]).toBeGreaterThan(Number(started.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect((rest.frames.at(-1)!.data as { status: string }).status).toBe('SUCCESS');
    expect(rest.frames.some((frame) => (frame.data as { progress: number }).progress > 0 && (frame.data as { progress: number }).progress < 1)).toBe(true);

    // Opened after the end: the whole history, then the stream ends.
    const replay = await readSse(await open(`${path}?last_event_id=0`));
    expect(replay.frames.map((frame) => frame.id)).toEqual([...first.frames, ...rest.frames].map((frame) => frame.id));
    // EventSource reconnects after the last frame too, with its id: nothing is left, and the stream ends.
    const after = await readSse(await open(path, rest.frames.at(-1)!.id));
    expect(after.frames).toEqual([]);
  });

  it('refuses a resume position that cannot exist with 400, header or query, on every stream', async () => {
    const { data: task } = await admin.POST('/train/start', { body: { epochs: 1 } });
    const cases: [string, string, string][] = [
      ['/events/stream', '99999999999999999999999.99999999999999999999', '/last-event-id'],
      ['/events/stream', '18446744073709551616.1', '/last-event-id'],
      ['/events/stream', '1.9223372036854775808', '/last-event-id'],
      ['/events/stream', '1842', '/last-event-id'],
      // In range, but past every committed event: no stream sent it (it would wait forever).
      ['/events/stream', '18446744073709551615.9223372036854775807', '/last-event-id'],
      [`/train/${task!.task_id}/events`, '9223372036854775808', '/last-event-id'],
      [`/train/${task!.task_id}/events`, '1.5', '/last-event-id'],
      [`/train/${task!.task_id}/events`, '9223372036854775807', '/last-event-id'],
    ];
    for (const [path, position, pointer] of cases) {
      const problem = await expectProblem(await open(path, position), 400);
      expect(problem.errors, `${path} with Last-Event-ID ${position}`).toEqual([expect.objectContaining({ location: 'header', pointer })]);
      const viaQuery = await expectProblem(await open(`${path}?last_event_id=${position}`), 400);
      expect(viaQuery.errors).toEqual([expect.objectContaining({ location: 'query', pointer: '/last_event_id' })]);
    }
  });

  it('streams new events live, filtered, and resumes after the last one received', async () => {
    const writer = service.client((await service.createKey(['events:write', 'events:read'], { owner: 'live' })).token);
    const reader = await service.createKey(['events:read'], { owner: 'live' });
    const stream = (lastEventId?: string) =>
      fetch(`${service.url}/events/stream?event_type=wanted`, { headers: { authorization: `Bearer ${reader.token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } });
    // Once the response has arrived, the stream is attached: what is written next is on it.
    const live = await stream();
    for (const [index, type] of ['wanted', 'other', 'wanted'].entries()) {
      await writer.POST('/events', { body: { event_id: `live-${engine}-${index}`, event_type: type, event_data: { index } } });
    }
    const seen: SseFrame[] = [];
    await readSse(live, (frame) => {
      seen.push(frame);
      return seen.length === 2;
    });
    expectFramesMatchSpec('streamEvents', seen);
    expect(seen.map((frame) => (frame.data as { event_id: string }).event_id)).toEqual([`live-${engine}-0`, `live-${engine}-2`]);
    await writer.POST('/events', { body: { event_id: `live-${engine}-3`, event_type: 'wanted', event_data: {} } });
    const resumed: SseFrame[] = [];
    await readSse(await stream(seen[0]!.id), (frame) => {
      resumed.push(frame);
      return resumed.length === 2;
    });
    expect(resumed.map((frame) => (frame.data as { event_id: string }).event_id)).toEqual([`live-${engine}-2`, `live-${engine}-3`]);
  });

  it('keeps little in memory for a client that stops reading, which then gets every event once, in order', async () => {
    // The service runs in this process: its heap, collected, is what a stalled client costs it.
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const writer = service.client((await service.createKey(['events:write'], { owner: 'stalled' })).token);
    const reader = await service.createKey(['events:read'], { owner: 'stalled' });
    const stream = (eventType?: string) =>
      fetch(`${service.url}/events/stream${eventType ? `?event_type=${eventType}` : ''}`, { headers: { authorization: `Bearer ${reader.token}` } });
    const stalled = await stream();
    const marker = await stream('marker');
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    // 1,000 events of 40 KB (40 MB) while the first client reads nothing.
    const pad = 'x'.repeat(40_000);
    for (let batch = 0; batch < 50; batch++) {
      const events = Array.from({ length: 20 }, (_, index) => ({ event_id: `stalled-${engine}-${batch * 20 + index}`, event_type: 'bulk', event_data: { pad } }));
      expect((await writer.POST('/events/batch', { body: { events } })).response.status).toBe(202);
    }
    await writer.POST('/events', { body: { event_id: `stalled-${engine}-marker`, event_type: 'marker', event_data: {} } });
    // Streams are served in commit order: once the marker is out, every bulk event reached the stalled stream too.
    await readSse(marker, () => true);
    collect();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024);
    const ids: string[] = [];
    await readSse(stalled, (frame) => {
      ids.push((frame.data as { event_id: string }).event_id);
      return ids.at(-1)!.endsWith('marker');
    });
    expect(ids).toEqual([...Array.from({ length: 1000 }, (_, index) => `stalled-${engine}-${index}`), `stalled-${engine}-marker`]);
  });
});

describe('streams at shutdown', () => {
  it('end with a final frame when the server stops', async () => {
    const service = await startTestService('pglite');
    const response = await fetch(`${service.url}/events/stream`, { headers: { authorization: `Bearer ${service.adminToken}` } });
    const reading = readSse(response);
    await service.stop();
    const { frames } = await reading;
    expect(frames.at(-1)).toMatchObject({ event: 'end', data: { reason: 'shutting_down' } });
  });
});
