import { describe, expect, it } from 'vitest';
import { auc, classification, computeMetrics, hitRateAtK, logLoss, ndcgAtK } from '../../src/ml/metrics.js';

describe('auc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBe(0);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    // Pairs (positive, negative): 0.5>0.2, 0.5=0.5, 0.9>0.2, 0.9>0.5 -> 3.5 of 4.
    expect(auc([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9])).toBe(0.875);
    expect(auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
  });

  it('is undefined (NaN) without both classes', () => {
    expect(auc([1, 1], [0.2, 0.3])).toBeNaN();
  });
});

describe('logLoss', () => {
  it('is the mean cross-entropy', () => {
    expect(logLoss([1, 0], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
  });

  it('clips probabilities so that a confident mistake stays finite', () => {
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 1);
  });
});

describe('classification at 0.5', () => {
  it('computes accuracy, precision, recall and F1', () => {
    // Predictions 1, 1, 0, 0, 1 against labels 1, 0, 1, 0, 1: TP 2, FP 1, FN 1, TN 1.
    const result = classification([1, 0, 1, 0, 1], [0.9, 0.6, 0.4, 0.1, 0.5]);
    expect(result.accuracy).toBeCloseTo(3 / 5, 12);
    expect(result.precision).toBeCloseTo(2 / 3, 12);
    expect(result.recall).toBeCloseTo(2 / 3, 12);
    expect(result.f1).toBeCloseTo(2 / 3, 12);
  });

  it('gives 0 where nothing is predicted positive', () => {
    expect(classification([1, 0], [0.1, 0.2])).toEqual({ accuracy: 0.5, precision: 0, recall: 0, f1: 0 });
  });

  it('gathers everything into ModelMetrics', () => {
    expect(computeMetrics([0, 1, 1], [0.2, 0.7, 0.9])).toEqual({
      auc: 1,
      accuracy: 1,
      precision: 1,
      recall: 1,
      f1: 1,
      log_loss: expect.closeTo(-(Math.log(0.8) + Math.log(0.7) + Math.log(0.9)) / 3, 12),
      holdout_examples: 3,
      holdout_positives: 2,
    });
  });
});

describe('ranking metrics', () => {
  const queries = [
    { ranked: [0, 3, 1], candidates: [3, 1, 0, 2] },
    { ranked: [2, 0], candidates: [2, 0, 0] },
    // No relevant candidate: left out of both.
    { ranked: [0, 0], candidates: [0, 0] },
  ];

  it('hit rate@k: share of answerable queries with a relevant result in the top k', () => {
    expect(hitRateAtK(queries, 1)).toBe(0.5);
    expect(hitRateAtK(queries, 2)).toBe(1);
  });

  it('NDCG@k: DCG over the ideal DCG, relevance as gain', () => {
    const first = 3 / Math.log2(3) / (3 + 2 / Math.log2(3));
    expect(ndcgAtK(queries, 2)).toBeCloseTo((first + 1) / 2, 12);
    expect(ndcgAtK([{ ranked: [3, 2, 1], candidates: [1, 2, 3] }], 3)).toBe(1);
    expect(ndcgAtK([queries[2]!], 2)).toBeNaN();
  });
});
