import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_CHANGES, ModelRepository, type ActivationDecision, type NewModelVersion } from '../../src/db/models.js';
import { initialModel } from '../../src/ml/model.js';
import { NotificationRecorder, openTestDatabase, type TestDatabase } from '../support/database.js';
import { engines } from '../support/service.js';

const VERSION: NewModelVersion = { kind: 'hand-set', artifact: { ...initialModel() }, metrics: null, trainingTaskId: null, labelsUsed: 0 };
const record = (policy: 'if_better' | 'online', decision: 'activated' | 'challenger') =>
  ({ policy, decision, metric: 'auc', new_value: 0.9, previous_model_id: null, previous_value: 0.8, decided_at: new Date().toISOString() }) as const;
const activated: ActivationDecision = { activate: true, status: 'active', record: record('if_better', 'activated') };
const challenger: ActivationDecision = { activate: false, status: 'challenger', record: record('online', 'challenger') };

describe.each(engines())('ModelRepository on %s', (engine) => {
  let test: TestDatabase;
  let models: ModelRepository;
  let changes: NotificationRecorder;
  beforeAll(async () => {
    test = await openTestDatabase(engine);
    models = new ModelRepository(test.database);
    changes = await NotificationRecorder.listen(test.database, MODEL_CHANGES);
  });
  afterAll(async () => {
    await changes?.stop();
    await test?.close();
  });

  const history = async () => (await models.activations(100, undefined)).map((entry) => [entry.version, entry.change, entry.reason, entry.actor, entry.previous_version]);

  it('records every change of the serving versions, with a NOTIFY each, and pages the history newest first', async () => {
    expect(await models.ensureInitial(VERSION)).toBe(true);
    expect(await models.ensureInitial(VERSION)).toBe(false);
    const v2 = await models.addVersion(VERSION, () => activated);
    expect(v2).toMatchObject({ version: 2, active: true, status: 'active' });
    const v3 = await models.addVersion(VERSION, () => ({ activate: false, status: 'rejected', record: null }));
    expect(v3.status).toBe('rejected');
    expect(await history()).toEqual([
      [2, 'activated', 'offline', 'auto', 1],
      [1, 'activated', 'initial', 'auto', null],
    ]);
    const [latest] = await models.activations(1, undefined);
    expect(latest).toMatchObject({ note: 'AUTO_ACTIVATE=if_better: hold-out AUC 0.900 against 0.800', figures: { new_auc: 0.9, previous_auc: 0.8 } });
    expect((await models.activations(10, latest!.activation_id)).map((entry) => entry.version)).toEqual([1]);

    // A rejected version is no change; nor is activating the active one.
    expect((await models.activate(v2.model_id, { actor: 'key_a', note: null }))?.version).toBe(2);
    expect(await history()).toHaveLength(2);
    expect(await models.activate('mdl_0000000000000000', { actor: 'key_a', note: null })).toBeUndefined();
    expect(await changes.drain()).toHaveLength(2);
  });

  it('starts a challenger beside the champion, leaves it while the test runs, and promotes it with the figures', async () => {
    const champion = (await models.active())!;
    const next = await models.addVersion(VERSION, () => challenger);
    expect(next).toMatchObject({ status: 'challenger', active: false, challenge: { champion_model_id: champion.model_id, result: null } });
    expect((await models.challenger())?.model_id).toBe(next.model_id);
    expect(await models.judgeChallenger(next.model_id, () => undefined)).toBeUndefined();
    expect((await models.challenger())?.model_id).toBe(next.model_id);

    const promoted = await models.judgeChallenger(next.model_id, (a, b) => ({ decision: 'promoted', champion: a, challenger: b, difference: 0.2, likelihood_ratio: 31, threshold: 20 }));
    expect(promoted).toMatchObject({ model_id: next.model_id, status: 'active', active: true, challenge: { result: { decision: 'promoted', likelihood_ratio: 31 } } });
    expect((await models.active())?.model_id).toBe(next.model_id);
    expect((await models.get(champion.model_id))?.status).toBe('standby');
    expect(await models.challenger()).toBeUndefined();
    // Decided once: a second verdict on the same version finds no challenger.
    expect(await models.judgeChallenger(next.model_id, (a, b) => ({ decision: 'retired', champion: a, challenger: b, difference: -1, likelihood_ratio: 99, threshold: 20 }))).toBeUndefined();
    const [entry] = await models.activations(1, undefined);
    expect(entry).toMatchObject({ model_id: next.model_id, change: 'promoted', reason: 'online', actor: 'auto', previous_model_id: champion.model_id });
    expect(entry!.figures).toMatchObject({ difference: 0.2, likelihood_ratio: 31, threshold: 20, challenger_feedback: 0 });
  });

  it('ends a running challenge on a manual activation or a newer challenger, and records why', async () => {
    const champion = (await models.active())!;
    const first = await models.addVersion(VERSION, () => challenger);
    const second = await models.addVersion(VERSION, () => challenger);
    expect((await models.get(first.model_id))).toMatchObject({ status: 'retired', challenge: { result: { decision: 'retired', note: 'a newer challenger replaced it' } } });
    expect((await models.challenger())?.model_id).toBe(second.model_id);

    const rollback = await models.activate(champion.model_id, { actor: 'key_b', note: 'keep the champion' });
    expect(rollback?.model_id).toBe(champion.model_id);
    // Version 1 was not serving: this activation is the rollback, and ends the challenge.
    const v1 = (await models.list(100, undefined)).find((model) => model.version === 1)!;
    await models.activate(v1.model_id, { actor: 'key_b', note: 'rollback to v1' });
    expect((await models.get(second.model_id))?.status).toBe('retired');
    const recent = (await models.activations(4, undefined)).map((entry) => [entry.model_id, entry.change, entry.reason, entry.actor, entry.note]);
    expect(recent).toEqual([
      [v1.model_id, 'activated', 'manual', 'key_b', 'rollback to v1'],
      [second.model_id, 'retired', 'manual', 'key_b', `ended by the manual activation of ${v1.model_id}`],
      [second.model_id, 'challenger_started', 'offline', 'auto', expect.stringContaining('AUTO_ACTIVATE=online')],
      [first.model_id, 'retired', 'offline', 'auto', 'a newer challenger replaced it'],
    ]);
    expect(await models.online([v1.model_id])).toEqual(new Map());
  });
});
