import { describe, expect, it } from 'vitest';
import { explorationSlotsFor } from '../../src/ml/model.js';
import { isChallengerTask, ONLINE_TEST, onlineTest, type ArmSums } from '../../src/ml/online-test.js';
import { Random } from '../../src/ml/random.js';

/** Sums of n answers, `ones` of them 1 and the rest 0 (reciprocal ranks of picks at rank 1 or none). */
const arm = (n: number, ones: number): ArmSums => ({ n, sum: ones, sumSquares: ones });

describe('the online test (mSPRT on the difference of means)', () => {
  it('runs until both sides have enough answers', () => {
    expect(onlineTest(arm(0, 0), arm(0, 0))).toEqual({ difference: null, likelihoodRatio: null, threshold: 20, decision: 'running' });
    expect(onlineTest(arm(500, 100), arm(29, 29))).toMatchObject({ likelihoodRatio: null, decision: 'running' });
    expect(onlineTest(arm(500, 100), arm(29, 29)).difference).toBeCloseTo(0.8, 12);
  });

  it('promotes a clearly better challenger and retires a clearly worse one', () => {
    const better = onlineTest(arm(400, 120), arm(60, 40));
    expect(better.decision).toBe('promoted');
    expect(better.likelihoodRatio).toBeGreaterThanOrEqual(20);
    expect(onlineTest(arm(400, 200), arm(60, 5)).decision).toBe('retired');
  });

  it('keeps running on a small difference, and retires an undecided challenger at the cap', () => {
    const close = onlineTest(arm(1000, 300), arm(100, 32));
    expect(close.decision).toBe('running');
    expect(close.likelihoodRatio).toBeLessThan(1);
    expect(onlineTest(arm(1000, 300), arm(ONLINE_TEST.maximumChallenger, 600)).decision).toBe('retired');
  });

  it('matches the closed form of the normal mixture', () => {
    const champion = arm(100, 50);
    const challenger = arm(100, 70);
    const variance = (a: ArmSums) => (a.sumSquares - (a.sum * a.sum) / a.n) / (a.n - 1);
    const v = variance(champion) / champion.n + variance(challenger) / challenger.n;
    const d = 0.2;
    const expected = Math.sqrt(v / (v + 0.01)) * Math.exp((d * d * 0.01) / (2 * v * (v + 0.01)));
    expect(onlineTest(champion, challenger).likelihoodRatio).toBeCloseTo(expected, 9);
  });

  it('stays a finite number however strong the evidence', () => {
    expect(Number.isFinite(onlineTest(arm(100_000, 0), arm(100_000, 100_000)).likelihoodRatio)).toBe(true);
  });

  it('decides wrongly in well under alpha of A/A tests looked at after every answer', () => {
    // Same true MRR on both sides; 200 tests, each watched answer by answer for 1,000 answers.
    const random = new Random(17);
    let wrong = 0;
    for (let test = 0; test < 200; test += 1) {
      const champion = arm(0, 0);
      const challenger = arm(0, 0);
      for (let answer = 0; answer < 1000; answer += 1) {
        const side = random.bernoulli(0.5) ? challenger : champion;
        const value = random.bernoulli(0.4) ? 1 : 0;
        side.n += 1;
        side.sum += value;
        side.sumSquares += value;
        if (onlineTest(champion, challenger).decision !== 'running') {
          wrong += 1;
          break;
        }
      }
    }
    expect(wrong / 200).toBeLessThan(ONLINE_TEST.alpha);
  });
});

describe('challenger tasks', () => {
  it('are a fixed share of any run of consecutive task numbers', () => {
    const run = (from: number, count: number, share: number) => Array.from({ length: count }, (_, i) => from + i).filter((seq) => isChallengerTask(seq, share)).length;
    expect(run(1, 1000, 0.1)).toBeGreaterThanOrEqual(95);
    expect(run(1, 1000, 0.1)).toBeLessThanOrEqual(105);
    expect(run(123_456, 100, 0.5)).toBeGreaterThanOrEqual(45);
    expect(run(123_456, 100, 0.5)).toBeLessThanOrEqual(55);
    expect(run(1, 100, 0)).toBe(0);
    expect(isChallengerTask(42, 0.1)).toBe(isChallengerTask(42, 0.1));
  });
});

describe('exploration slots', () => {
  const meanSlots = (labels: number) => {
    const random = new Random(3);
    let total = 0;
    for (let task = 0; task < 4000; task += 1) total += explorationSlotsFor(2, 25, labels, random);
    return total / 4000;
  };

  it('are all used until the model has learnt from more labels than the decay, then fade as 1/labels', () => {
    expect(meanSlots(0)).toBe(2);
    expect(meanSlots(25)).toBe(2);
    expect(meanSlots(500)).toBeGreaterThan(2 * 0.05 * 0.8);
    expect(meanSlots(500)).toBeLessThan(2 * 0.05 * 1.2);
    expect(meanSlots(5000)).toBeLessThan(0.02);
    expect(explorationSlotsFor(0, 25, 0, new Random(1))).toBe(0);
  });
});
