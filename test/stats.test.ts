import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PorticoClient, Schemas } from '../clients/typescript/src/index.js';
import { EventRepository } from '../src/db/events.js';
import { expectProblem, expectSchema } from './support/contract.js';
import { engines, startTestService, type TestKey, type TestService } from './support/service.js';
import { SEARCH, waitForTask } from './support/tasks.js';

type Stats = Schemas['Stats'];

/** A field summed over every bucket. */
const sum = (stats: Stats, field: keyof Schemas['StatsCounts']) => stats.points.reduce((total, point) => total + Number(point[field] ?? 0), 0);

describe.each(engines())('GET /stats on %s', (engine) => {
  let service: TestService;
  let admin: PorticoClient;
  let acme: TestKey;
  let globex: TestKey;
  const as = (key: TestKey) => service.client(key.token);
  const stats = async (client: PorticoClient, query: { window?: Schemas['StatsWindow']; owner?: string; task_type?: 'inference' | 'training' } = {}) => {
    const { data, response } = await client.GET('/stats', { params: { query } });
    expect(response.status).toBe(200);
    expectSchema('Stats', data);
    return data!;
  };

  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
    admin = service.client(service.adminToken);
    acme = await service.createKey(['events:write', 'events:read', 'inference:run', 'inference:read'], { owner: 'acme' });
    globex = await service.createKey(['events:write', 'inference:run', 'inference:read'], { owner: 'globex' });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers an hour in aligned 1-minute buckets, and 24 hours in 96 buckets of 15 minutes', async () => {
    const hour = await stats(admin);
    expect(hour).toMatchObject({ window: '1h', bucket_seconds: 60, owner: null, task_type: 'inference' });
    expect(hour.points).toHaveLength(60);
    expect(Date.parse(hour.to) - Date.parse(hour.from)).toBe(3_600_000);
    expect(Date.parse(hour.from) % 60_000).toBe(0);
    expect(hour.points.map((point) => Date.parse(point.start) - Date.parse(hour.from))).toEqual(Array.from({ length: 60 }, (_, i) => i * 60_000));
    expect(Date.parse(hour.to)).toBeGreaterThan(Date.now() - 1000);

    const day = await stats(admin, { window: '24h' });
    expect(day).toMatchObject({ window: '24h', bucket_seconds: 900 });
    expect(day.points).toHaveLength(96);
    expect(Date.parse(day.from) % 900_000).toBe(0);
  });

  it('counts events, tasks and latency per owner; admins see every owner or the one they name', async () => {
    for (const [key, count] of [[acme, 3], [globex, 2]] as const) {
      const client = as(key);
      const posted = await client.POST('/events/batch', {
        body: { events: Array.from({ length: count }, () => ({ event_id: randomUUID(), event_type: 'page_view', event_data: {} })) },
      });
      expect(posted.response.status).toBe(202);
      const { data: task } = await client.POST('/inference/start', { body: SEARCH });
      expect((await waitForTask(client, task!.task_id)).status).toBe('SUCCESS');
    }

    const own = await stats(as(acme), { owner: 'globex' });
    expect(own.owner).toBe('acme');
    expect(own.totals).toMatchObject({ events_received: 3, tasks_started: 1, tasks_succeeded: 1, tasks_failed: 0, tasks_revoked: 0, gateway_tokens: 0 });
    expect(sum(own, 'events_received')).toBe(3);
    expect(own.totals.latency_p50_ms).toBeGreaterThan(0);
    expect(own.totals.latency_p95_ms).toBeGreaterThanOrEqual(own.totals.latency_p50_ms!);
    const busy = own.points.filter((point) => point.tasks_succeeded > 0);
    expect(busy).toHaveLength(1);
    expect(busy[0]!.latency_p50_ms).toBeGreaterThan(0);
    expect(own.points.filter((point) => point.tasks_succeeded === 0).every((point) => point.latency_p50_ms === null)).toBe(true);

    expect((await stats(admin)).totals).toMatchObject({ events_received: 5, tasks_started: 2, tasks_succeeded: 2 });
    expect((await stats(admin, { owner: 'globex' })).totals).toMatchObject({ events_received: 2, tasks_succeeded: 1 });
    // System events (the service's own records of each route) are not "received".
    expect((await stats(admin, { task_type: 'training' })).totals).toMatchObject({ events_received: 5, tasks_started: 0, tasks_succeeded: 0 });
  });

  it('counts revoked tasks and the tasks not ended, by state', async () => {
    const client = as(globex);
    // A burst of tasks; some may still be queued or running when the figures are read.
    const started = await Promise.all(Array.from({ length: 4 }, () => client.POST('/inference/start', { body: SEARCH })));
    const cancelled = await client.POST('/inference/{task_id}/cancel', { params: { path: { task_id: started[0]!.data!.task_id } } });
    const figures = await stats(as(globex));
    const active = figures.tasks_active.PENDING + figures.tasks_active.STARTED + figures.tasks_active.RETRY;
    for (const { data } of started) await waitForTask(client, data!.task_id);
    const after = await stats(as(globex));
    const revoked = cancelled.data?.status === 'REVOKED' ? 1 : 0;
    expect(after.totals.tasks_revoked).toBe(revoked);
    expect(after.totals.tasks_succeeded).toBe(1 + 4 - revoked);
    expect(after.tasks_active).toEqual({ PENDING: 0, STARTED: 0, RETRY: 0 });
    expect(active).toBeLessThanOrEqual(4 - revoked);
  });

  it('sums the tokens of completion events, the gateway’s record of each completion', async () => {
    const events = new EventRepository(service.service.database);
    const completion = (owner: string, tokens: unknown) => ({ owner, event_id: `sys-${randomUUID()}`, event_type: 'completion', event_data: { total_tokens: tokens }, source: 'system' as const });
    await events.ingest([completion('acme', 120), completion('acme', 30), completion('globex', 7), completion('acme', 'not a number')]);
    // A client event that merely looks like one is not the gateway's.
    await as(acme).POST('/events', { body: { event_id: randomUUID(), event_type: 'completion', event_data: { total_tokens: 1000 } } });
    expect((await stats(as(acme))).totals.gateway_tokens).toBe(150);
    expect((await stats(admin)).totals.gateway_tokens).toBe(157);
  });

  it("counts this process's answers and errors for the owner that made them", async () => {
    const before = (await stats(as(acme))).totals;
    const missing = await as(acme).GET('/inference/status/{task_id}', { params: { path: { task_id: randomUUID() } } });
    expect(missing.response.status).toBe(404);
    const after = (await stats(as(acme))).totals;
    // The first /stats call and the 404 were answered in between.
    expect(after.requests - before.requests).toBe(2);
    expect(after.client_errors - before.client_errors).toBe(1);
    expect(after.server_errors).toBe(0);
    const everyone = (await stats(admin)).totals;
    expect(everyone.requests).toBeGreaterThan(after.requests);
  });

  it('refuses a window it does not know, and needs a valid key', async () => {
    const bad = await fetch(`${service.url}/stats?window=2h`, { headers: { authorization: `Bearer ${acme.token}` } });
    expect((await expectProblem(bad, 400)).errors?.[0]?.pointer).toBe('/window');
    await expectProblem(await fetch(`${service.url}/stats`), 401);
  });
});

describe.each(engines())('GET /me on %s', (engine) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(engine);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers the calling key, whatever its scopes, without its secret', async () => {
    const key = await service.createKey(['events:read'], { owner: 'acme' });
    const { data } = await service.client(key.token).GET('/me');
    expect(data).toMatchObject({ key_id: key.keyId, owner: 'acme', scopes: ['events:read'], status: 'active' });
    expect(JSON.stringify(data)).not.toContain(key.token.slice(4));
    const { data: admin } = await service.client(service.adminToken).GET('/me');
    expect(admin!.scopes).toEqual(['admin']);
  });
});
