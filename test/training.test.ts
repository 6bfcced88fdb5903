import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PorticoClient, waitForTask } from '../clients/typescript/src/index.js';
import { runSimulation } from '../bench/simulate.js';
import { expectProblem, expectSchema } from './support/contract.js';
import { engines, startTestService, type TestService } from './support/service.js';
import { SEARCH, waitForTask as waitForInference } from './support/tasks.js';

const waitForTraining = (client: PorticoClient, taskId: string) => waitForTask(client, 'training', taskId, { intervalMs: 50, timeoutMs: 60_000 });

describe.each(engines())('training on %s', (engine) => {
  let service: TestService;
  let admin: PorticoClient;
  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
    admin = service.client(service.adminToken);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers 422 saying how many labels exist when there are too few', async () => {
    const response = await fetch(`${service.url}/train/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ min_labels: 5 }),
    });
    const problem = await expectProblem(response, 422);
    expect(problem).toMatchObject({ type: 'urn:portico:problem:not-enough-labels', labels: 0, min_labels: 5 });
  });

  it('validates hyper-parameters', async () => {
    const response = await fetch(`${service.url}/train/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ epochs: 0, learning_rate: -1, holdout_fraction: 0.9, extra: 1 }),
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors!.map((error) => error.pointer).sort()).toEqual(['/epochs', '/extra', '/holdout_fraction', '/learning_rate']);
  });

  it('learns from simulated picks through the API: a better model becomes active and serves the next inference', { timeout: 180_000 }, async () => {
    const report = await runSimulation({ client: admin, tasks: 120, evaluationUsers: 150, seed: 11, concurrency: 8 });
    const [random, initial, trained] = report.rows;
    expect(trained!.ndcg).toBeGreaterThan(random!.ndcg + 0.2);
    expect(trained!.ndcg).toBeGreaterThan(initial!.ndcg);
    expect(trained!.hit_rate).toBeGreaterThanOrEqual(random!.hit_rate);

    const model = report.trainedModel;
    expectSchema('Model', model);
    expect(model).toMatchObject({ version: 2, kind: 'logistic-regression', status: 'active', active: true, labels_used: 120 });
    expect(model.activation).toMatchObject({ policy: 'if_better', decision: 'activated', metric: 'auc' });
    expect(model.activation!.new_value).toBeGreaterThanOrEqual(model.activation!.previous_value ?? 0);

    const status = await admin.GET('/train/status/{task_id}', { params: { path: { task_id: model.training_task_id! } } });
    expect(status.data).toMatchObject({ status: 'SUCCESS', type: 'training', progress: 1, model_id: model.model_id, model_version: 2 });
    expect(status.data!.metrics).toEqual(model.metrics);

    const listed = await admin.GET('/models');
    expect(listed.data!.items.map((item) => [item.version, item.active])).toEqual([[2, true], [1, false]]);
    // A cursor position past the version column's integer range is the client's error, not a 500.
    const farCursor = Buffer.from(JSON.stringify({ v: '2147483648' })).toString('base64url');
    expect((await admin.GET('/models', { params: { query: { cursor: farCursor } } })).response.status).toBe(400);

    const runner = service.client((await service.createKey(['inference:run', 'inference:read'])).token);
    const { data: task } = await runner.POST('/inference/start', { body: SEARCH });
    expect((await waitForInference(runner, task!.task_id)).model_version).toBe(2);

    const artifact = await fetch(`${service.url}/models/${model.model_id}/artifact`, { headers: { authorization: `Bearer ${service.adminToken}` } });
    expect(artifact.headers.get('content-disposition')).toBe('attachment; filename="portico-model-v2.json"');
    const body: unknown = await artifact.json();
    expectSchema('ModelArtifact', body);
  });

  it('switches the active model atomically, and tasks report the version they used', async () => {
    const { data: models } = await admin.GET('/models');
    const first = models!.items.find((item) => item.version === 1)!;
    const activated = await admin.POST('/models/{model_id}/activate', { params: { path: { model_id: first.model_id } } });
    expect(activated.data).toMatchObject({ version: 1, active: true, status: 'active' });
    const after = await admin.GET('/models');
    expect(after.data!.items.filter((item) => item.active).map((item) => item.version)).toEqual([1]);
    const runner = service.client((await service.createKey(['inference:run', 'inference:read'])).token);
    const { data: task } = await runner.POST('/inference/start', { body: SEARCH });
    expect((await waitForInference(runner, task!.task_id)).model_version).toBe(1);
    const unknown = await admin.POST('/models/{model_id}/activate', { params: { path: { model_id: 'mdl_0000000000000000' } } });
    expect(unknown.response.status).toBe(404);
  });

  it('is deterministic for a seed, and cancels cooperatively while running', { timeout: 120_000 }, async () => {
    const first = await admin.POST('/train/start', { body: { seed: 5, epochs: 20 } });
    const second = await admin.POST('/train/start', { body: { seed: 5, epochs: 20 } });
    const [a, b] = [await waitForTraining(admin, first.data!.task_id), await waitForTraining(admin, second.data!.task_id)];
    const artifacts = await Promise.all(
      [a, b].map(async (status) => (await admin.GET('/models/{model_id}/artifact', { params: { path: { model_id: status.model_id! } } })).data!),
    );
    expect(artifacts[0]!.weights).toEqual(artifacts[1]!.weights);

    const versions = (await admin.GET('/models')).data!.items.length;
    const long = await admin.POST('/train/start', { body: { epochs: 1000 } });
    const path = { params: { path: { task_id: long.data!.task_id } } };
    for (let i = 0; i < 200; i++) {
      const { data } = await admin.GET('/train/status/{task_id}', path);
      if (data!.status === 'STARTED' && data!.progress > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const cancelled = await admin.POST('/train/{task_id}/cancel', path);
    expect(cancelled.data?.status).toBe('REVOKED');
    const final = await waitForTraining(admin, long.data!.task_id);
    expect(final.status).toBe('REVOKED');
    expect(final.progress).toBeLessThan(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await admin.GET('/models')).data!.items.length).toBe(versions);
    const again = await admin.POST('/train/{task_id}/cancel', { params: { path: { task_id: a.task_id } } });
    expect(again.response.status).toBe(409);
  });
});

describe.each(engines())('training tasks of other owners on %s', (engine) => {
  // It boots its own service, trains and retries: more than the default 30 s on a loaded machine.
  it('answer 404 to status, cancel, events and retry, and are not listed', { timeout: 120_000 }, async () => {
    const service = await startTestService(engine);
    try {
      const mine = service.client((await service.createKey(['inference:run', 'inference:read', 'models:train'], { owner: 'acme' })).token);
      const theirs = await service.createKey(['models:train'], { owner: 'globex' });
      const { data: task } = await mine.POST('/inference/start', { body: SEARCH });
      await waitForInference(mine, task!.task_id);
      await mine.PUT('/inference/select', { body: { task_id: task!.task_id, location_id: -1 } });
      const { data: training } = await mine.POST('/train/start', { body: { min_labels: 1 } });
      const headers = { authorization: `Bearer ${theirs.token}` };
      const id = training!.task_id;
      await expectProblem(await fetch(`${service.url}/train/status/${id}`, { headers }), 404);
      await expectProblem(await fetch(`${service.url}/train/${id}/cancel`, { method: 'POST', headers }), 404);
      await expectProblem(await fetch(`${service.url}/train/${id}/events`, { headers }), 404);
      expect((await mine.GET('/train/status/{task_id}', { params: { path: { task_id: id } } })).response.status).toBe(200);
      await expectProblem(await fetch(`${service.url}/train/${id}/retry`, { method: 'POST', headers }), 404);
      expect((await service.client(theirs.token).GET('/train')).data!.items).toEqual([]);

      // Running it again: a new task with the same hyper-parameters (min_labels 1 still passes), listed newest first.
      const retried = await mine.POST('/train/{task_id}/retry', { params: { path: { task_id: id } } });
      expect(retried.data).toMatchObject({ type: 'training', status: 'PENDING' });
      expect(retried.response.headers.get('location')).toBe(`/train/status/${retried.data!.task_id}`);
      for (const task of [id, retried.data!.task_id]) await mine.POST('/train/{task_id}/cancel', { params: { path: { task_id: task } } });
      const listed = await mine.GET('/train');
      expect(listed.data!.items.map((item) => item.task_id)).toEqual([retried.data!.task_id, id]);
    } finally {
      await service.stop();
    }
  });
});

describe('AUTO_ACTIVATE=never', () => {
  it('stores the new version without activating it', { timeout: 120_000 }, async () => {
    const service = await startTestService('pglite', { env: { AUTO_ACTIVATE: 'never', RATE_LIMIT_PER_MINUTE: '0' } });
    try {
      const admin = service.client(service.adminToken);
      const report = await runSimulation({ client: admin, tasks: 40, evaluationUsers: 50, seed: 3, concurrency: 8 });
      expect(report.trainedModel).toMatchObject({ active: false, status: 'standby', activation: { policy: 'never', decision: 'kept_previous' } });
      const active = (await admin.GET('/models')).data!.items.filter((item) => item.active);
      expect(active.map((item) => item.version)).toEqual([1]);
    } finally {
      await service.stop();
    }
  });
});
