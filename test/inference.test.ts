import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PorticoClient, Schemas } from '../clients/typescript/src/index.js';
import { ModelRepository } from '../src/db/models.js';
import { expectProblem, expectSchema } from './support/contract.js';
import { untilListingsCatchUp } from './support/events.js';
import { pythonWithRequests, runPython } from './support/python.js';
import { engines, startTestService, type TestKey, type TestService } from './support/service.js';
import { SEARCH, waitForTask } from './support/tasks.js';

/** Seed 003's client loop, unchanged but for the bearer token: start, poll, results, select. */
const SEED_CLIENT = `
import requests, time, sys, json
base, token = sys.argv[1], sys.argv[2]
headers = {"Authorization": "Bearer " + token}
user = {"name": "seed client", "people_num": 2, "people_age": [34, 31], "children_num": 0, "budget": 600,
        "nights": 3, "time_arrival": "2027-06-01", "pool": True, "spa": True, "pet_friendly": False,
        "lake": True, "mountain": False, "sport": False}
task = requests.post(base + "/inference/start", json=user, headers=headers).json()
for _ in range(200):
    status = requests.get(base + "/inference/status/" + task["task_id"], headers=headers).json()
    if status["status"] == "SUCCESS":
        break
    time.sleep(0.05)
results = requests.get(base + "/inference/results/" + task["task_id"], params={"limit": 10}, headers=headers).json()
label = {"task_id": task["task_id"], "location_id": results[0]["location_id"]}
selection = requests.put(base + "/inference/select/", data=json.dumps(label), headers=headers)
print(json.dumps({"type": task["type"], "status": status["status"], "results": len(results), "select": selection.status_code}))
`;

const hasPython = await pythonWithRequests();

describe.each(engines())('inference tasks on %s', (engine) => {
  let service: TestService;
  let runner: TestKey;
  let client: PorticoClient;
  let failNextBatch = 0;

  beforeAll(async () => {
    service = await startTestService(engine, {
      env: { RATE_LIMIT_PER_MINUTE: '0' },
      hooks: {
        inference: {
          beforeComplete: () => {
            if (failNextBatch > 0) {
              failNextBatch -= 1;
              throw new Error('injected transient failure');
            }
          },
        },
      },
    });
    runner = await service.createKey(['inference:run', 'inference:read'], { owner: 'acme' });
    client = service.client(runner.token);
  });
  afterAll(async () => {
    await service?.stop();
  });

  const start = async (search: Schemas['UserData'] = SEARCH) => {
    const { data, response } = await client.POST('/inference/start', { body: search });
    expect(response.status).toBe(200);
    return { task: data!, response };
  };

  it.runIf(hasPython)("runs seed 003's client loop unchanged but for the token", async () => {
    const { stdout } = await runPython('python3', ['-c', SEED_CLIENT, service.url, runner.token]);
    expect(JSON.parse(stdout)).toEqual({ type: 'inference', status: 'SUCCESS', results: 10, select: 200 });
  });

  it('queues a task and answers its status with a Location header', async () => {
    const { task, response } = await start();
    expect(task).toMatchObject({ type: 'inference', status: 'PENDING', progress: 0 });
    expect(response.headers.get('location')).toBe(`/inference/status/${task.task_id}`);
    const done = await waitForTask(client, task.task_id);
    expect(done).toMatchObject({ status: 'SUCCESS', progress: 1, model_version: 1, error: null });
    expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(Date.parse(done.created_at));
    expect(Date.parse(done.finished_at!)).toBeGreaterThanOrEqual(Date.parse(done.started_at!));
  });

  it('picks a queued task up at once, not after a polling interval', async () => {
    const { task } = await start();
    const done = await waitForTask(client, task.task_id);
    expect(Date.parse(done.started_at!) - Date.parse(done.created_at)).toBeLessThan(400);
  });

  it('returns the results ranked by score, marks them shown, and honours limit', async () => {
    const { task } = await start();
    await waitForTask(client, task.task_id);
    const { data } = await client.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id }, query: { limit: 25 } } });
    expect(data).toHaveLength(25);
    expect(data!.map((item) => item.rank)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const regular = data!.slice(0, 8).map((item) => item.score);
    expect(regular).toEqual([...regular].sort((a, b) => b - a));
    expect(new Set(data!.map((item) => item.location_id)).size).toBe(25);
    for (const item of data!) expectSchema('ScoredLocation', item);
    const admin = service.client(service.adminToken);
    const stored = await admin.GET('/content/results', { params: { query: { task_id: task.task_id } } });
    expect(stored.data).toHaveLength(100);
    expect(stored.data!.filter((result) => result.shown)).toHaveLength(25);
    const defaultLimit = await client.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id } } });
    expect(defaultLimit.data).toHaveLength(10);
  });

  it('records the pick, replaces it, refuses a location not in the results, and takes -1', async () => {
    const { task } = await start();
    await waitForTask(client, task.task_id);
    const { data: results } = await client.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id } } });
    const first = await client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: results![2]!.location_id } });
    expect(first.data).toMatchObject({ task_id: task.task_id, location_id: results![2]!.location_id, rank: 3 });
    const replaced = await client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: results![0]!.location_id } });
    expect(replaced.data).toMatchObject({ location_id: results![0]!.location_id, rank: 1 });
    const stranger = await client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: 999_999 } });
    expect(stranger.response.status).toBe(404);
    const none = await client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: -1 } });
    expect(none.data).toMatchObject({ location_id: -1, rank: null });
  });

  it("records seed 003's event for every route, as system events of the caller's owner", async () => {
    const reader = service.client((await service.createKey(['events:read', 'events:write'], { owner: 'acme' })).token);
    const { task } = await start();
    // Polled here rather than by waitForTask, so that the status calls (one event each) are counted.
    let polls = 0;
    for (let status = task.status; status !== 'SUCCESS'; polls += 1) {
      if (polls > 0) await sleep(20);
      status = (await client.GET('/inference/status/{task_id}', { params: { path: { task_id: task.task_id } } })).data!.status;
    }
    const { data: results } = await client.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id } } });
    await client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: results![0]!.location_id } });
    await client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: -1 } });
    // A refused pick records nothing.
    expect((await client.PUT('/inference/select', { body: { task_id: task.task_id, location_id: 999_999 } })).response.status).toBe(404);
    await untilListingsCatchUp(reader);
    const { data } = await reader.GET('/events', { params: { query: { source: 'system', limit: 500 } } });
    const mine = data!.items.filter((event) => (event.event_data as { task_id?: string }).task_id === task.task_id).map((event) => event.event_type);
    expect(mine.filter((type) => type !== 'status').sort()).toEqual(['bad_inference', 'good_inference', 'inference_start', 'results', 'selection', 'selection']);
    expect(mine.filter((type) => type === 'status')).toHaveLength(polls);
    expect(data!.items.every((event) => event.source === 'system' && event.owner === 'acme')).toBe(true);
  });

  it('keeps owners apart: another owner gets 404 on every route and sees none in its list', async () => {
    const { task } = await start();
    await waitForTask(client, task.task_id);
    const other = service.client((await service.createKey(['inference:run', 'inference:read'], { owner: 'globex' })).token);
    const path = { params: { path: { task_id: task.task_id } } };
    expect((await other.GET('/inference/status/{task_id}', path)).response.status).toBe(404);
    expect((await other.GET('/inference/results/{task_id}', path)).response.status).toBe(404);
    expect((await other.POST('/inference/{task_id}/cancel', path)).response.status).toBe(404);
    expect((await other.PUT('/inference/select', { body: { task_id: task.task_id, location_id: -1 } })).response.status).toBe(404);
    const listed = await other.GET('/inference', { params: { query: { limit: 500 } } });
    expect(listed.data!.items.map((item) => item.task_id)).not.toContain(task.task_id);
    const admin = service.client(service.adminToken);
    expect((await admin.GET('/inference/status/{task_id}', path)).data?.status).toBe('SUCCESS');
  });

  it('answers 404 for an unknown task and 400 for a malformed id', async () => {
    const unknown = await fetch(`${service.url}/inference/status/${randomUUID()}`, { headers: { authorization: `Bearer ${runner.token}` } });
    await expectProblem(unknown, 404);
    const malformed = await fetch(`${service.url}/inference/status/not-a-uuid`, { headers: { authorization: `Bearer ${runner.token}` } });
    await expectProblem(malformed, 400);
  });

  it('checks the search beyond its schema', async () => {
    const response = await fetch(`${service.url}/inference/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${runner.token}` },
      body: JSON.stringify({ ...SEARCH, people_num: 3, children_num: 5 }),
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors!.map((error) => error.pointer).sort()).toEqual(['/children_num', '/people_age']);
  });

  it('refuses to cancel a finished task with 409, carrying its status', async () => {
    const { task } = await start();
    await waitForTask(client, task.task_id);
    const response = await fetch(`${service.url}/inference/${task.task_id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${runner.token}` } });
    expect((await expectProblem(response, 409)).current_status).toBe('SUCCESS');
  });

  it('retries a transient failure (RETRY is visible) and then succeeds', async () => {
    failNextBatch = 1;
    const { task } = await start();
    const seen = new Set<string>();
    const deadline = Date.now() + 15_000;
    let status = task.status;
    while (status !== 'SUCCESS' && Date.now() < deadline) {
      const { data } = await client.GET('/inference/status/{task_id}', { params: { path: { task_id: task.task_id } } });
      status = data!.status;
      seen.add(status);
      if (status === 'RETRY') expect(data!.error).toContain('injected transient failure');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(seen).toContain('RETRY');
    expect(status).toBe('SUCCESS');
  });

  it('fails a task permanently, with a useful error, when its model cannot score', async () => {
    const models = new ModelRepository(service.service.database);
    const broken = await models.addVersion(
      { kind: 'logistic-regression', artifact: { format: 'portico-ranker/1', features: ['a'], scaling: { min: [0], max: [1] }, weights: [], bias: 0, metadata: {} }, metrics: null, trainingTaskId: null, labelsUsed: 0 },
      () => ({ activate: true, status: 'active', record: null }),
    );
    try {
      const { task } = await start();
      const done = await waitForTask(client, task.task_id);
      expect(done.status).toBe('FAILURE');
      expect(done.error).toMatch(/Invalid model artifact/);
      expect(done.model_id).toBe(broken.model_id);
    } finally {
      const first = (await models.list(100, undefined)).find((model) => model.version === 1)!;
      await models.activate(first.model_id, { actor: 'auto', note: 'test: back to version 1' });
    }
  });

  it('lists the caller’s tasks newest first, by status, with cursor pages', async () => {
    const mine = service.client((await service.createKey(['inference:run', 'inference:read'], { owner: 'lister' })).token);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await mine.POST('/inference/start', { body: SEARCH })).data!.task_id);
    for (const id of ids) await waitForTask(mine, id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { data } = await mine.GET('/inference', { params: { query: { limit: 2, status: 'SUCCESS', ...(cursor ? { cursor } : {}) } } });
      seen.push(...data!.items.map((item) => item.task_id));
      cursor = data!.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const pending = await mine.GET('/inference', { params: { query: { status: 'PENDING' } } });
    expect(pending.data!.items).toEqual([]);
  });
});

describe.each(engines())('queued tasks without workers on %s', (engine) => {
  let service: TestService;
  let client: PorticoClient;
  beforeAll(async () => {
    service = await startTestService(engine, { env: { RUN_WORKERS: 'false' } });
    client = service.client((await service.createKey(['inference:run', 'inference:read'])).token);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers 409 with the current status for results and picks before SUCCESS', async () => {
    const { data: task } = await client.POST('/inference/start', { body: SEARCH });
    const typed = await client.GET('/inference/results/{task_id}', { params: { path: { task_id: task!.task_id } } });
    expect(typed.response.status).toBe(409);
    expect(typed.error?.current_status).toBe('PENDING');
    const pick = await client.PUT('/inference/select', { body: { task_id: task!.task_id, location_id: -1 } });
    expect(pick.response.status).toBe(409);
  });

  it('revokes a PENDING task, which then never runs, and cancelling twice is fine', async () => {
    const { data: task } = await client.POST('/inference/start', { body: SEARCH });
    const cancelled = await client.POST('/inference/{task_id}/cancel', { params: { path: { task_id: task!.task_id } } });
    expect(cancelled.data).toMatchObject({ status: 'REVOKED' });
    expect(cancelled.data!.finished_at).not.toBeNull();
    const again = await client.POST('/inference/{task_id}/cancel', { params: { path: { task_id: task!.task_id } } });
    expect(again.response.status).toBe(200);
  });

  it('runs a task again with the same search as a new task; another owner gets 404', async () => {
    const { data: task } = await client.POST('/inference/start', { body: { ...SEARCH, name: 'retried search', budget: 321 } });
    await client.POST('/inference/{task_id}/cancel', { params: { path: { task_id: task!.task_id } } });
    const retried = await client.POST('/inference/{task_id}/retry', { params: { path: { task_id: task!.task_id } } });
    expect(retried.response.status).toBe(200);
    expect(retried.response.headers.get('location')).toBe(`/inference/status/${retried.data!.task_id}`);
    expect(retried.data).toMatchObject({ type: 'inference', status: 'PENDING' });
    expect(retried.data!.task_id).not.toBe(task!.task_id);
    // The original keeps its end; the new task has its own copy of the search.
    expect((await client.GET('/inference/status/{task_id}', { params: { path: { task_id: task!.task_id } } })).data!.status).toBe('REVOKED');
    const { data: users } = await service.client(service.adminToken).GET('/content/users', { params: { query: { limit: 1000 } } });
    const copies = users!.filter((user) => user.name === 'retried search');
    expect(copies).toHaveLength(2);
    const { user_id: _a, created_at: _b, ...first } = copies[0]!;
    const { user_id: _c, created_at: _d, ...second } = copies[1]!;
    expect(second).toEqual(first);

    const stranger = service.client((await service.createKey(['inference:run', 'inference:read'])).token);
    expect((await stranger.POST('/inference/{task_id}/retry', { params: { path: { task_id: task!.task_id } } })).response.status).toBe(404);
  });
});
