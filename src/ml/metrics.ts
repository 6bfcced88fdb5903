import type { ModelMetrics } from './types.js';

/** Labels are 0/1; probabilities and scores are aligned with them by index. */
type Values = ArrayLike<number>;

/**
 * Area under the ROC curve from ranks (Mann-Whitney U): the chance that a random positive scores
 * above a random negative, tied scores counting one half. NaN without both classes.
 */
export function auc(labels: Values, scores: Values): number {
  checkAligned(labels, scores);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => at(scores, a) - at(scores, b));
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && at(scores, at(order, end)) === at(scores, at(order, start))) end += 1;
    // Ranks start..end-1 (1-based: start+1..end) are tied: each gets their average.
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k += 1) {
      if (at(labels, at(order, k)) === 1) {
        positives += 1;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean binary cross-entropy; probabilities are clipped to [epsilon, 1 - epsilon] so it stays finite. */
export function logLoss(labels: Values, probabilities: Values, epsilon = 1e-15): number {
  checkAligned(labels, probabilities);
  if (labels.length === 0) return Number.NaN;
  let total = 0;
  for (let i = 0; i < labels.length; i += 1) {
    const p = Math.min(Math.max(at(probabilities, i), epsilon), 1 - epsilon);
    total -= at(labels, i) === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / labels.length;
}

export interface Classification {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Predicting positive when the probability is at least `threshold`. An empty denominator gives 0. */
export function classification(labels: Values, probabilities: Values, threshold = 0.5): Classification {
  checkAligned(labels, probabilities);
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  for (let i = 0; i < labels.length; i += 1) {
    const predicted = at(probabilities, i) >= threshold;
    const actual = at(labels, i) === 1;
    if (predicted && actual) truePositives += 1;
    else if (predicted) falsePositives += 1;
    else if (actual) falseNegatives += 1;
  }
  const correct = labels.length - falsePositives - falseNegatives;
  const precision = ratio(truePositives, truePositives + falsePositives);
  const recall = ratio(truePositives, truePositives + falseNegatives);
  return {
    accuracy: ratio(correct, labels.length),
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
  };
}

/** The hold-out metrics of a model, from the hold-out labels and the model's probabilities. */
export function computeMetrics(labels: Values, probabilities: Values): ModelMetrics {
  let positives = 0;
  for (let i = 0; i < labels.length; i += 1) positives += at(labels, i) === 1 ? 1 : 0;
  return {
    auc: auc(labels, probabilities),
    ...classification(labels, probabilities),
    log_loss: logLoss(labels, probabilities),
    holdout_examples: labels.length,
    holdout_positives: positives,
  };
}

/**
 * One query of a ranking evaluation, as relevances (0: not relevant): `ranked` for the results in
 * the order shown, `candidates` for every candidate, which gives the best possible ranking.
 */
export interface RankedQuery {
  ranked: readonly number[];
  candidates: readonly number[];
}

/** Share of queries with a relevant result in the top k, among queries with any relevant candidate. */
export function hitRateAtK(queries: readonly RankedQuery[], k: number): number {
  return meanOverAnswerable(queries, (query) => (query.ranked.slice(0, k).some((relevance) => relevance > 0) ? 1 : 0));
}

/**
 * Mean normalised discounted cumulative gain at k, with the relevance itself as gain:
 * DCG = sum of relevance / log2(position + 1), divided by the DCG of the best ranking. Queries
 * without any relevant candidate are left out.
 */
export function ndcgAtK(queries: readonly RankedQuery[], k: number): number {
  return meanOverAnswerable(queries, (query) => {
    const ideal = [...query.candidates].sort((a, b) => b - a);
    return dcgAtK(query.ranked, k) / dcgAtK(ideal, k);
  });
}

function dcgAtK(relevances: readonly number[], k: number): number {
  return relevances.slice(0, k).reduce((sum, relevance, index) => sum + relevance / Math.log2(index + 2), 0);
}

function meanOverAnswerable(queries: readonly RankedQuery[], value: (query: RankedQuery) => number): number {
  const answerable = queries.filter((query) => query.candidates.some((relevance) => relevance > 0));
  if (answerable.length === 0) return Number.NaN;
  return answerable.reduce((sum, query) => sum + value(query), 0) / answerable.length;
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function checkAligned(labels: Values, values: Values): void {
  if (labels.length !== values.length) throw new RangeError(`${labels.length} labels but ${values.length} values`);
}

/** Element `i` of an array known to be long enough. */
function at(values: Values, i: number): number {
  return values[i] as number;
}
