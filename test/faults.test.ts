import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createClient } from '../clients/typescript/src/index.js';
import { expectProblem } from './support/contract.js';
import { startPrivatePostgres } from './support/private-postgres.js';
import { type ServiceProcess, spawnService } from './support/process.js';
import { readSse } from './support/sse.js';
import { SEARCH } from './support/tasks.js';

/**
 * Faults with real processes and a real Postgres. Everything here runs in CI; the database outage
 * uses a private Postgres cluster of its own, the other tests a schema of their own on the shared one.
 */
const postgresUrl = inject('postgresUrl');
const ADMIN = 'fault-tests-admin-token';
const processes: ServiceProcess[] = [];
const schemas: string[] = [];

function schemaEnv(): Record<string, string> {
  const schema = `f_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  return { DATABASE_URL: postgresUrl!, DATABASE_SCHEMA: schema, ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: '0', QUEUE_MAINTENANCE_SECONDS: '1', LOG_LEVEL: 'warn' };
}

async function spawn(env: Record<string, string>, entry?: string): Promise<ServiceProcess> {
  const child = await spawnService(env, entry);
  processes.push(child);
  return child;
}

async function query<T>(url: string, schema: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

afterAll(async () => {
  for (const child of processes) child.kill('SIGKILL');
  if (postgresUrl) {
    for (const schema of schemas) {
      await query(postgresUrl, 'public', `drop schema if exists ${schema}_pgboss cascade; drop schema if exists ${schema} cascade`).catch(() => undefined);
    }
  }
});

describe.runIf(postgresUrl)('faults with real processes', () => {
  it('a worker killed while 50 tasks run: a new worker takes the abandoned ones up within the heartbeat timeout plus 20 s and finishes every task exactly once, running no other task twice', async () => {
    const env = schemaEnv();
    const api = await spawn({ ...env, RUN_WORKERS: 'false' });
    // A large catalogue makes scoring slow enough to kill the worker mid-batch.
    await query(postgresUrl!, env.DATABASE_SCHEMA!, `
      insert into locations (location_id, children, breakfast, lunch, dinner, price, has_pool, has_spa, animals, near_lake, near_mountains, has_sport,
        family_rating, outdoor_rating, food_rating, leisure_rating, service_rating, user_score)
      select g, g % 2 = 0, g % 3 = 0, g % 5 = 0, true, 50 + (g % 900), g % 7 = 0, g % 11 = 0, g % 13 = 0, g % 2 = 1, g % 3 = 1, g % 4 = 0,
        (g % 50) / 10.0, (g % 40) / 10.0, (g % 60) / 10.0, (g % 30) / 10.0, (g % 45) / 10.0, (g % 50) / 10.0
      from generate_series(1000, 80000) g`);
    const client = createClient({ baseUrl: api.url, token: ADMIN });
    const first = await spawn({ ...env, WORKER_CONCURRENCY: '1' }, 'src/worker.ts');
    const ids = await Promise.all(Array.from({ length: 50 }, async () => (await client.POST('/inference/start', { body: SEARCH })).data!.task_id));
    await until(async () => (await query<{ n: string }>(postgresUrl!, env.DATABASE_SCHEMA!, `select count(*) n from tasks where status = 'STARTED'`))[0]!.n !== '0', 30_000, 'a STARTED task');
    first.kill('SIGKILL');
    const killedAt = Date.now();
    const abandoned = (await query<{ task_id: string }>(postgresUrl!, env.DATABASE_SCHEMA!, `select task_id from tasks where status = 'STARTED'`)).map((row) => row.task_id);
    const running = abandoned.length;
    expect(running).toBeGreaterThan(0);
    await spawn({ ...env, WORKER_CONCURRENCY: '2' }, 'src/worker.ts');
    // Inference jobs miss their heartbeat 10 s after their worker died and maintenance runs every
    // second: the tasks the dead worker held are claimed again (a second attempt) soon after. The
    // 20 s of margin cover the new worker's start on a busy machine; the expiry cap (300 s) is far off.
    await until(
      async () => (await query<{ n: string }>(postgresUrl!, env.DATABASE_SCHEMA!, `select count(*) n from tasks where task_id = any($1::uuid[]) and attempts >= 2`, [abandoned]))[0]!.n === String(running),
      60_000,
      'the abandoned tasks to be claimed again',
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000 + 20_000);
    await until(
      async () => (await query<{ n: string }>(postgresUrl!, env.DATABASE_SCHEMA!, `select count(*) n from tasks where status in ('SUCCESS', 'FAILURE', 'REVOKED')`))[0]!.n === '50',
      120_000,
      'every task to end',
    );
    const rows = await query<{ task_id: string; status: string; attempts: number; results: string; successes: string }>(postgresUrl!, env.DATABASE_SCHEMA!, `
      select t.task_id, t.status, t.attempts,
        (select count(*) from task_results r where r.task_id = t.task_id) results,
        (select count(*) from task_events e where e.task_id = t.task_id and e.status = 'SUCCESS') successes
      from tasks t where t.task_id = any($1::uuid[])`, [ids]);
    expect(rows).toHaveLength(50);
    for (const row of rows) expect([row.status, row.results, row.successes]).toEqual(['SUCCESS', '1', '1']);
    expect(rows.filter((row) => row.attempts >= 2).length).toBe(running);
  }, 240_000);

  it('during a database outage answers 503 with Retry-After, recovers by itself within 5 s, and loses no accepted event', async () => {
    const database = await startPrivatePostgres();
    try {
      const service = await spawn({ DATABASE_URL: database.url, ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'error' });
      const client = createClient({ baseUrl: service.url, token: ADMIN });
      const accepted: string[] = [];
      const refused: string[] = [];
      let posting = true;
      const posters = Array.from({ length: 8 }, async () => {
        while (posting) {
          const event_id = randomUUID();
          const response = await fetch(`${service.url}/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ event_id, event_type: 'outage', event_data: { at: Date.now() } }),
          }).catch(() => undefined);
          if (response?.status === 202) accepted.push(event_id);
          else if (response) {
            expect(response.status).toBe(503);
            expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
            await expectProblem(response, 503);
            refused.push(event_id);
          }
          await sleep(5);
        }
      });
      await sleep(500);
      await database.stop('immediate');
      await sleep(1500);
      const ready = await fetch(`${service.url}/ready`);
      await expectProblem(ready, 503);
      expect((await fetch(`${service.url}/health`)).status).toBe(200);
      await database.start();
      const restarted = Date.now();
      await until(async () => (await fetch(`${service.url}/ready`)).status === 200, 10_000, '/ready');
      await until(async () => (await client.POST('/events', { body: { event_id: randomUUID(), event_type: 'probe', event_data: {} } })).response.status === 202, 10_000, 'a 202');
      expect(Date.now() - restarted).toBeLessThan(5_000);
      await sleep(300);
      posting = false;
      await Promise.all(posters);
      expect(refused.length).toBeGreaterThan(0);
      const stored = new Set(
        (await query<{ event_id: string }>(database.url, 'public', `select event_id from events where event_type = 'outage'`)).map((row) => row.event_id),
      );
      for (const id of accepted) expect(stored.has(id), `202 for ${id}`).toBe(true);
      // A refused event may only be stored if it was committed before the connection broke.
      expect(stored.size).toBeLessThanOrEqual(accepted.length + refused.length);
    } finally {
      await database.destroy();
    }
  }, 120_000);

  it('on SIGTERM under load: in-flight requests finish, new connections are refused, streams get a last frame, no queued job is lost', async () => {
    const env = schemaEnv();
    const service = await spawn(env);
    const stream = fetch(`${service.url}/events/stream`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((response) => readSse(response));
    const starts = Array.from({ length: 60 }, () =>
      fetch(`${service.url}/inference/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(SEARCH),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { task_id?: string } }), () => undefined),
    );
    await sleep(20);
    service.kill('SIGTERM');
    const answers = await Promise.all(starts);
    for (const answer of answers) if (answer) expect(answer.status).toBe(200);
    const { frames } = await stream;
    expect(frames.at(-1)).toMatchObject({ event: 'end', data: { reason: 'shutting_down' } });
    await expect(fetch(`${service.url}/health`)).rejects.toThrow();
    expect((await service.exit).code).toBe(0);

    const next = await spawn(env);
    const client = createClient({ baseUrl: next.url, token: ADMIN });
    const accepted = answers.flatMap((answer) => (answer?.body.task_id ? [answer.body.task_id] : []));
    expect(accepted.length).toBeGreaterThan(0);
    await until(async () => {
      const statuses = await Promise.all(accepted.map(async (task_id) => (await client.GET('/inference/status/{task_id}', { params: { path: { task_id } } })).data?.status));
      return statuses.every((status) => status === 'SUCCESS');
    }, 30_000, 'every accepted task to succeed');
  }, 120_000);

  it('scales out: 2 API and 2 worker processes share one Postgres', async () => {
    const env = schemaEnv();
    const [apiA, apiB] = [await spawn({ ...env, RUN_WORKERS: 'false' }), await spawn({ ...env, RUN_WORKERS: 'false' })];
    await spawn({ ...env, WORKER_CONCURRENCY: '2' }, 'src/worker.ts');
    await spawn({ ...env, WORKER_CONCURRENCY: '2' }, 'src/worker.ts');
    const a = createClient({ baseUrl: apiA!.url, token: ADMIN });
    const b = createClient({ baseUrl: apiB!.url, token: ADMIN });

    // A task started through A, followed through B.
    const { data: task } = await a.POST('/inference/start', { body: SEARCH });
    const followed = await readSse(await fetch(`${apiB!.url}/inference/${task!.task_id}/events`, { headers: { authorization: `Bearer ${ADMIN}` } }));
    expect(followed.frames.map((frame) => (frame.data as { status: string }).status)).toEqual(['PENDING', 'STARTED', 'SUCCESS']);

    // Many tasks, each processed exactly once by one of the two workers.
    const ids = await Promise.all(Array.from({ length: 100 }, async (_, i) => (await (i % 2 ? a : b).POST('/inference/start', { body: SEARCH })).data!.task_id));
    await until(async () => {
      const rows = await query<{ n: string }>(postgresUrl!, env.DATABASE_SCHEMA!, `select count(*) n from tasks where task_id = any($1::uuid[]) and status = 'SUCCESS'`, [ids]);
      return rows[0]!.n === '100';
    }, 30_000, '100 tasks');
    const counts = await query<{ attempts: number; successes: string; results: string }>(postgresUrl!, env.DATABASE_SCHEMA!, `
      select t.attempts,
        (select count(*) from task_events e where e.task_id = t.task_id and e.status = 'SUCCESS') successes,
        (select count(*) from task_results r where r.task_id = t.task_id) results
      from tasks t where t.task_id = any($1::uuid[])`, [ids]);
    for (const row of counts) expect([row.attempts, row.successes, row.results]).toEqual([1, '1', '1']);

    // A key revoked through A is refused by both within a second.
    const { data: key } = await a.POST('/admin/api-keys', { body: { name: 'scale-out', scopes: ['events:read'] } });
    const headers = { authorization: `Bearer ${key!.token}` };
    for (const api of [apiA!, apiB!]) expect((await fetch(`${api.url}/events`, { headers })).status).toBe(200);
    await a.DELETE('/admin/api-keys/{key_id}', { params: { path: { key_id: key!.key_id } } });
    const revokedAt = Date.now();
    await until(async () => (await Promise.all([apiA!, apiB!].map(async (api) => (await fetch(`${api.url}/events`, { headers })).status)))
      .every((status) => status === 401), 1000, 'both processes to refuse the key');
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  }, 180_000);
});
