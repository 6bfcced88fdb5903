import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/ml/features.js';
import { scoreExamples } from '../../src/ml/model.js';
import { DEFAULT_TRAINING_OPTIONS, trainModel } from '../../src/ml/train.js';
import type { TrainingExample } from '../../src/ml/types.js';
import { initialExamples } from './fixtures.js';

const examples = initialExamples(150, 3);
const quick = { ...DEFAULT_TRAINING_OPTIONS, epochs: 5 };

describe('trainModel', () => {
  it('gives identical weights for the same seed, and others for another seed', async () => {
    const first = await trainModel(examples, quick);
    const second = await trainModel(examples, quick);
    expect(second.artifact.weights).toEqual(first.artifact.weights);
    expect(second.artifact.bias).toBe(first.artifact.bias);
    expect(second.artifact.scaling).toEqual(first.artifact.scaling);
    expect(second.metrics).toEqual(first.metrics);
    const other = await trainModel(examples, { ...quick, seed: 7 });
    expect(other.artifact.weights).not.toEqual(first.artifact.weights);
  });

  it('trains a reproducible network with one ReLU hidden layer', async () => {
    const options = { ...quick, hidden_units: 8 };
    const { artifact } = await trainModel(examples, options);
    expect(artifact.hidden?.weights).toHaveLength(8);
    expect(artifact.hidden?.weights.every((unit) => unit.length === FEATURE_NAMES.length)).toBe(true);
    expect(artifact.weights).toHaveLength(8);
    expect(artifact.metadata).toMatchObject({ kind: 'neural-network' });
    expect((await trainModel(examples, options)).artifact.hidden).toEqual(artifact.hidden);
  });

  it('holds out whole lists for the choice objective, a share of those with a pick and of those without', async () => {
    const { holdout, trainExamples, holdoutExamples, metrics } = await trainModel(examples, quick);
    const groupsOf = (list: readonly TrainingExample[]) => new Set(list.map((example) => example.group));
    const heldGroups = groupsOf(holdout);
    const picked = groupsOf(examples.filter((example) => example.label === 1));
    const all = groupsOf(examples);
    expect(trainExamples + holdoutExamples).toBe(examples.length);
    // Every example of a held-out list is held out.
    expect(holdout).toEqual(expect.arrayContaining(examples.filter((example) => heldGroups.has(example.group))));
    expect(holdoutExamples).toBe(examples.filter((example) => heldGroups.has(example.group)).length);
    expect([...heldGroups].filter((group) => picked.has(group))).toHaveLength(Math.round(picked.size * 0.2));
    expect([...heldGroups].filter((group) => !picked.has(group))).toHaveLength(Math.round((all.size - picked.size) * 0.2));
    expect(metrics.holdout_positives).toBe(Math.round(picked.size * 0.2));
    expect(metrics.auc).toBeGreaterThan(0.7);
  });

  it('keeps a stratified hold-out set out of training and scaling, and reports its metrics', async () => {
    const pointwise = { ...quick, objective: 'pointwise' as const };
    const { artifact, metrics, trainExamples, holdoutExamples } = await trainModel(examples, pointwise);
    const positives = examples.filter((example) => example.label === 1).length;
    expect(trainExamples + holdoutExamples).toBe(examples.length);
    expect(holdoutExamples).toBe(Math.round(positives * 0.2) + Math.round((examples.length - positives) * 0.2));
    expect(metrics.holdout_examples).toBe(holdoutExamples);
    expect(metrics.holdout_positives).toBe(Math.round(positives * 0.2));
    expect(metrics.auc).toBeGreaterThan(0.7);
    expect(artifact.features).toEqual(FEATURE_NAMES);
    expect(artifact.scaling.min).toHaveLength(FEATURE_NAMES.length);
    expect(artifact.metadata).toMatchObject({
      kind: 'logistic-regression',
      options: pointwise,
      train_examples: trainExamples,
      holdout_examples: holdoutExamples,
      trained_at: expect.any(String),
    });
    // The stored artifact scores like the trained one.
    const stored = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    expect(scoreExamples(stored, examples)).toEqual(scoreExamples(artifact, examples));
  });

  it('reports every epoch with its loss, and the loss goes down', async () => {
    const calls: [number, number, number][] = [];
    await trainModel(examples, { ...quick, epochs: 20 }, { onEpoch: (...call) => void calls.push(call) });
    expect(calls.map(([epoch, epochs]) => [epoch, epochs])).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1, 20]));
    const losses = calls.map(([, , loss]) => loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
  });

  it('lets the event loop run while it trains', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    await trainModel(examples, { ...quick, epochs: 200 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it('stops with an AbortError when the signal aborts', async () => {
    const controller = new AbortController();
    const epochs: number[] = [];
    const training = trainModel(examples, { ...quick, epochs: 50 }, {
      signal: controller.signal,
      onEpoch: (epoch) => {
        epochs.push(epoch);
        if (epoch === 2) controller.abort();
      },
    });
    await expect(training).rejects.toMatchObject({ name: 'AbortError', message: 'training was aborted' });
    expect(epochs).toEqual([1, 2]);
    await expect(trainModel(examples, quick, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('needs both positives and negatives', async () => {
    const negatives = examples.filter((example) => example.label === 0);
    await expect(trainModel(negatives, quick)).rejects.toThrow('training needs at least 2 lists with a pick and 2 negative examples');
    await expect(trainModel(negatives, { ...quick, objective: 'pointwise' })).rejects.toThrow('training needs at least 2 positive and 2 negative examples');
    const positives: TrainingExample[] = examples.filter((example) => example.label === 1);
    await expect(trainModel(positives, quick)).rejects.toThrow(/got \d+ lists with a pick and 0 negative/);
    await expect(trainModel(positives, { ...quick, objective: 'pointwise' })).rejects.toThrow(/got \d+ positive and 0 negative/);
  });

  it('rejects invalid options', async () => {
    await expect(trainModel(examples, { ...quick, epochs: 0, holdout_fraction: 1 })).rejects.toThrow(
      'invalid training options: epochs must be a positive integer; holdout_fraction must be between 0.05 and 0.5',
    );
  });
});
