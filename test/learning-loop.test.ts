import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PorticoClient, type Schemas, waitForTask as waitForTaskToEnd } from '../clients/typescript/src/index.js';
import { buildCatalogue, type Catalogue } from '../src/ml/catalogue.js';
import { Random } from '../src/ml/random.js';
import { pick, sampleUser, type SimulatedUser } from '../src/ml/simulation.js';
import { loadMlprodTables } from '../src/ml/tables.js';
import { expectSchema } from './support/contract.js';
import { engines, startTestService, type TestKey, type TestService } from './support/service.js';
import { SEARCH, waitForTask } from './support/tasks.js';

const { userTypes } = await loadMlprodTables();
const waitForTraining = (client: PorticoClient, taskId: string) => waitForTaskToEnd(client, 'training', taskId, { intervalMs: 50, timeoutMs: 120_000 });

/** One search answered as `answer` decides from the top 10 shown; what the service said about it. */
async function answered(client: PorticoClient, user: Schemas['UserData'], answer: (results: Schemas['ScoredLocation'][]) => number) {
  const { data: task } = await client.POST('/inference/start', { body: user });
  const status = await waitForTask(client, task!.task_id, 30_000);
  const { data: results } = await client.GET('/inference/results/{task_id}', { params: { path: { task_id: task!.task_id }, query: { limit: 10 } } });
  const locationId = answer(results!);
  const { data: selection } = await client.PUT('/inference/select', { body: { task_id: task!.task_id, location_id: locationId } });
  return { version: status.model_version, rank: selection!.rank };
}

const searchOf = (user: SimulatedUser, index: number): Schemas['UserData'] => ({ name: `traveller ${index}`, time_arrival: '2027-07-01', ...user.profile });

describe.each(engines())('the learning loop on %s', (engine) => {
  let service: TestService;
  let admin: PorticoClient;
  let manager: TestKey;
  let client: PorticoClient;
  let catalogue: Catalogue;
  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0', AUTO_ACTIVATE: 'online', CHALLENGER_SHARE: '0.5' } });
    admin = service.client(service.adminToken);
    manager = await service.createKey(['models:manage', 'models:train', 'inference:run', 'inference:read'], { owner: 'ops' });
    client = service.client(manager.token);
    catalogue = buildCatalogue((await admin.GET('/content/locations', { params: { query: { limit: 5000 } } })).data!);
  });
  afterAll(async () => {
    await service?.stop();
  });

  const models = async () => (await admin.GET('/models', { params: { query: { limit: 100 } } })).data!.items;
  const version = async (number: number) => (await models()).find((model) => model.version === number)!;
  const history = async () => (await admin.GET('/models/activations', { params: { query: { limit: 100 } } })).data!.items;

  it('flags exploration slots in the results; the others come by score, best first', async () => {
    const { data: task } = await client.POST('/inference/start', { body: SEARCH });
    await waitForTask(client, task!.task_id);
    const { data: results } = await client.GET('/inference/results/{task_id}', { params: { path: { task_id: task!.task_id }, query: { limit: 14 } } });
    results!.forEach((result) => expectSchema('ScoredLocation', result));
    // Version 1 was trained on no label: it explores in both slots, the last two of the top 10.
    expect(results!.map((result) => result.exploration)).toEqual([...Array<boolean>(8).fill(false), true, true, false, false, false, false]);
    const placed = results!.filter((result) => !result.exploration).map((result) => result.score);
    expect(placed).toEqual([...placed].sort((a, b) => b - a));
    expect(results!.map((result) => result.rank)).toEqual(Array.from({ length: 14 }, (_, index) => index + 1));
  });

  it('retires a worse challenger by the online test while the champion keeps serving, and shows each version online', { timeout: 300_000 }, async () => {
    // Labels from contrary users who always pick the dearest result shown: a model trained on them
    // predicts those picks better than version 1 (which prefers cheaper places), so it passes the
    // offline gate, and it ranks places nobody can afford first.
    const dearest = (results: Schemas['ScoredLocation'][]) => results.reduce((best, result) => (result.price > best.price ? result : best)).location_id;
    for (let i = 0; i < 40; i += 1) await answered(client, { ...SEARCH, budget: 300 + 10 * i }, dearest);
    const { data: training } = await client.POST('/train/start', { body: { min_labels: 20, epochs: 60 } });
    const trained = await waitForTraining(client, training!.task_id);
    expect(trained.status).toBe('SUCCESS');
    const challenger = await version(2);
    expectSchema('Model', challenger);
    expect(challenger).toMatchObject({ status: 'challenger', active: false, activation: { policy: 'online', decision: 'challenger' } });
    expect(challenger.online_test).toMatchObject({ decision: 'running', challenger: { model_id: challenger.model_id, feedback: 0 } });

    // Travellers of seed 003's user model answer; half the tasks go to the challenger until the test decides.
    const random = new Random(5);
    const served: { version: number | null; rank: number | null; retiredBefore: boolean }[] = [];
    let retired = false;
    for (let round = 0; round < 60 && !retired; round += 1) {
      const batch = Array.from({ length: 8 }, () => sampleUser(userTypes, random)).map((user, i) => ({ user, seed: round * 8 + i }));
      const retiredBefore = retired;
      const answers = await Promise.all(
        batch.map(({ user, seed }) => answered(client, searchOf(user, seed), (results) => pick(results.map((result) => result.location_id), user, catalogue, new Random(seed)))),
      );
      served.push(...answers.map((answer) => ({ ...answer, retiredBefore })));
      retired = (await version(2)).status === 'retired';
    }
    expect(retired).toBe(true);
    const after = await version(2);
    expect(after).toMatchObject({ status: 'retired', active: false, online_test: { decision: 'retired', threshold: 20 } });
    expect(after.online_test!.difference).toBeLessThan(0);
    expect(after.online_test!.likelihood_ratio).toBeGreaterThanOrEqual(20);
    expect(after.online_test!.decided_at).not.toBeNull();

    // The champion served throughout: its share of every batch, and everything once the test ended.
    const versions = served.map((answer) => answer.version);
    expect(new Set(versions)).toEqual(new Set([1, 2]));
    expect(versions.filter((v) => v === 1).length).toBeGreaterThan(versions.length / 3);
    expect((await version(1)).active).toBe(true);
    const { data: task } = await client.POST('/inference/start', { body: SEARCH });
    expect((await waitForTask(client, task!.task_id)).model_version).toBe(1);

    // Online figures as the answers make them: the challenger's are exactly those of its tasks.
    const mine = served.filter((answer) => answer.version === 2);
    expect(after.online).toMatchObject({ tasks: mine.length, feedback: mine.length, selections: mine.filter((answer) => answer.rank !== null).length, k: 10 });
    const mrr = mine.reduce((sum, answer) => sum + (answer.rank === null ? 0 : 1 / answer.rank), 0) / mine.length;
    expect(after.online.mrr).toBeCloseTo(mrr, 10);
    // The test's figures are those of the answer that decided it; the rest of that batch came after.
    const decidedAt = after.online_test!.challenger.feedback;
    expect(decidedAt).toBeLessThanOrEqual(mine.length);
    expect(decidedAt).toBeGreaterThan(mine.length - 8);
    const champion = await version(1);
    expect(champion.online.tasks).toBeGreaterThan(champion.online.feedback);
    expect(champion.online.hit_rate_at_k).toBeGreaterThan(0);

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain(`portico_model_online_tasks{version="2"} ${mine.length}`);
    expect(metrics).toMatch(/portico_model_online_mrr\{version="1"\} 0\.\d+/);

    const changes = (await history()).reverse();
    changes.forEach((entry) => expectSchema('ModelActivationEvent', entry));
    expect(changes.map((entry) => [entry.version, entry.change, entry.reason, entry.actor, entry.previous_version])).toEqual([
      [1, 'activated', 'initial', 'auto', null],
      [2, 'challenger_started', 'offline', 'auto', 1],
      [2, 'retired', 'online', 'auto', 1],
    ]);
    expect(changes[2]!.figures).toMatchObject({ challenger_feedback: decidedAt, challenger_mrr: after.online_test!.challenger.mrr, threshold: 20 });
    expect(changes[2]!.figures.difference).toBeLessThan(0);
  });

  it('records manual activations with the key and the reason; a rollback is one of them; the history pages', async () => {
    const [v1, v2] = [await version(1), await version(2)];
    const activated = await client.POST('/models/{model_id}/activate', { params: { path: { model_id: v2.model_id } }, body: { reason: 'try the retired version by hand' } });
    expect(activated.data).toMatchObject({ version: 2, active: true, status: 'active' });
    // Activating what is already active changes nothing and records nothing.
    await client.POST('/models/{model_id}/activate', { params: { path: { model_id: v2.model_id } } });
    const rollback = await client.POST('/models/{model_id}/activate', { params: { path: { model_id: v1.model_id } }, body: { reason: 'rollback: v2 ranks worse' } });
    expect(rollback.data).toMatchObject({ version: 1, active: true });

    const [latest, previous] = await history();
    expect(previous).toMatchObject({ version: 2, previous_version: 1, change: 'activated', reason: 'manual', actor: manager.keyId, note: 'try the retired version by hand' });
    expect(latest).toMatchObject({ version: 1, previous_version: 2, change: 'activated', reason: 'manual', actor: manager.keyId, note: 'rollback: v2 ranks worse' });
    expect(latest!.figures).toMatchObject({ online_mrr: v1.online.mrr, previous_online_mrr: v2.online.mrr });

    const first = (await admin.GET('/models/activations', { params: { query: { limit: 2 } } })).data!;
    expect(first.items.map((entry) => entry.activation_id)).toEqual([latest!.activation_id, previous!.activation_id]);
    const rest = (await admin.GET('/models/activations', { params: { query: { limit: 2, cursor: first.next_cursor! } } })).data!;
    expect(rest.items.map((entry) => entry.activation_id)).toEqual([previous!.activation_id - 1, previous!.activation_id - 2]);
    const last = (await admin.GET('/models/activations', { params: { query: { limit: 2, cursor: rest.next_cursor! } } })).data!;
    expect(last).toMatchObject({ items: [{ activation_id: 1, reason: 'initial' }], next_cursor: null });
    const reason = await fetch(`${service.url}/models/${v1.model_id}/activate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${manager.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: '' }),
    });
    expect(reason.status).toBe(400);
  });
});

describe.each(engines())('TRAIN_EVERY_LABELS on %s', (engine) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0', TRAIN_EVERY_LABELS: '20' } });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('starts one training run once that many new labels came in, and the next only after as many more', { timeout: 180_000 }, async () => {
    const admin = service.client(service.adminToken);
    const trainings = async () => (await admin.GET('/train')).data!.items;
    const random = new Random(9);
    const catalogue = buildCatalogue((await admin.GET('/content/locations', { params: { query: { limit: 5000 } } })).data!);
    const answer = (index: number) => {
      const user = sampleUser(userTypes, random);
      return answered(admin, searchOf(user, index), (results) => pick(results.map((result) => result.location_id), user, catalogue, new Random(index)));
    };
    for (let i = 0; i < 19; i += 1) await answer(i);
    expect(await trainings()).toEqual([]);
    // Answers arriving together past the threshold start one run, not one each.
    await Promise.all(Array.from({ length: 6 }, (_, i) => answer(19 + i)));
    const [run, ...others] = await trainings();
    expect(others).toEqual([]);
    const done = await waitForTraining(admin, run!.task_id);
    expect(done).toMatchObject({ status: 'SUCCESS', model_version: 2 });
    const trained = (await admin.GET('/models/{model_id}', { params: { path: { model_id: done.model_id! } } })).data!;
    expect(trained.labels_used).toBeGreaterThanOrEqual(20);

    for (let i = 0; i < 5; i += 1) await answer(100 + i);
    expect(await trainings()).toHaveLength(1);
  });
});
