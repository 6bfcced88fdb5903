/**
 * The champion/challenger test: a mixture sequential probability ratio test (mSPRT, Johari et
 * al., "Always valid inference") on the difference of two means, here each version's mean
 * reciprocal rank of the pick per answer. Unlike a fixed-sample test it may be looked at after
 * every answer: the chance that it ever decides wrongly stays below alpha.
 */

/** Running sums of one side: answers, and the sum and sum of squares of their values. */
export interface ArmSums {
  n: number;
  sum: number;
  sumSquares: number;
}

export interface OnlineTestSettings {
  /** The test's error rate; it decides once the ratio reaches 1 / alpha. */
  alpha: number;
  /** Variance of the normal prior on the difference (the size of difference expected). */
  priorVariance: number;
  /** Answers each side needs before the normal approximation is trusted. */
  minimumPerArm: number;
  /** Challenger answers after which an undecided challenger is retired. */
  maximumChallenger: number;
}

export const ONLINE_TEST: OnlineTestSettings = { alpha: 0.05, priorVariance: 0.01, minimumPerArm: 30, maximumChallenger: 2000 };

export interface OnlineTestResult {
  /** Challenger's mean minus the champion's; null until both sides have answers. */
  difference: number | null;
  /** The mixture likelihood ratio; null until both sides have `minimumPerArm` answers. */
  likelihoodRatio: number | null;
  threshold: number;
  decision: 'running' | 'promoted' | 'retired';
}

/** A variance floor: with every answer alike (all 0, say) the estimate would be 0 and the ratio infinite. */
const MIN_VARIANCE = 1e-4;

function meanAndVariance({ n, sum, sumSquares }: ArmSums): { mean: number; variance: number } {
  const mean = sum / n;
  const variance = n > 1 ? (sumSquares - n * mean * mean) / (n - 1) : 0;
  return { mean, variance: Math.max(variance, MIN_VARIANCE) };
}

export function onlineTest(champion: ArmSums, challenger: ArmSums, settings: OnlineTestSettings = ONLINE_TEST): OnlineTestResult {
  const threshold = 1 / settings.alpha;
  if (champion.n === 0 || challenger.n === 0) {
    return { difference: null, likelihoodRatio: null, threshold, decision: challenger.n >= settings.maximumChallenger ? 'retired' : 'running' };
  }
  const a = meanAndVariance(champion);
  const b = meanAndVariance(challenger);
  const difference = b.mean - a.mean;
  if (champion.n < settings.minimumPerArm || challenger.n < settings.minimumPerArm) {
    return { difference, likelihoodRatio: null, threshold, decision: challenger.n >= settings.maximumChallenger ? 'retired' : 'running' };
  }
  // The estimate is about normal with variance V; with a N(0, tau²) prior on the true difference,
  // the mixture over it against "no difference" has this closed form.
  const v = a.variance / champion.n + b.variance / challenger.n;
  const tau2 = settings.priorVariance;
  // Capped so that it stays a finite number in JSON.
  const likelihoodRatio = Math.min(Math.sqrt(v / (v + tau2)) * Math.exp((difference * difference * tau2) / (2 * v * (v + tau2))), Number.MAX_VALUE);
  const decided = likelihoodRatio >= threshold;
  const decision = decided ? (difference > 0 ? 'promoted' : 'retired') : challenger.n >= settings.maximumChallenger ? 'retired' : 'running';
  return { difference, likelihoodRatio, threshold, decision };
}

/**
 * Whether the task with this number goes to the challenger: the fractional parts of
 * seq × (golden ratio − 1) spread evenly over [0, 1), so any run of consecutive tasks sends
 * close to `share` of them to the challenger, always the same ones.
 */
export function isChallengerTask(seq: number, share: number): boolean {
  const position = (seq * 0.6180339887498949) % 1;
  return position < share;
}
