import { describe, expect, it } from 'vitest';
import { Random } from '../../src/ml/random.js';

const draws = (random: Random, count: number) => Array.from({ length: count }, () => random.next());

describe('Random', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    expect(draws(new Random(7), 100)).toEqual(draws(new Random(7), 100));
    expect(draws(new Random(7), 100)).not.toEqual(draws(new Random(8), 100));
  });

  it('draws floats in [0, 1) with a mean near 1/2', () => {
    const values = draws(new Random(1), 10_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((sum, value) => sum + value, 0) / values.length).toBeCloseTo(0.5, 1);
  });

  it('draws integers with both bounds included', () => {
    const random = new Random(2);
    const seen = new Set(Array.from({ length: 1000 }, () => random.integer(3, 6)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    expect(random.integer(5, 5)).toBe(5);
  });

  it('draws uniform floats within the range and Bernoulli trials at their rate', () => {
    const random = new Random(3);
    for (let i = 0; i < 1000; i += 1) {
      const value = random.uniform(-2, 5);
      expect(value).toBeGreaterThanOrEqual(-2);
      expect(value).toBeLessThan(5);
    }
    const hits = Array.from({ length: 10_000 }, () => random.bernoulli(0.3)).filter(Boolean).length;
    expect(hits / 10_000).toBeCloseTo(0.3, 1);
    expect(random.bernoulli(0)).toBe(false);
    expect(random.bernoulli(1)).toBe(true);
  });

  it('shuffles arrays and typed arrays in place into a seeded permutation', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = new Random(4).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(new Random(4).shuffle([...items])).toEqual(shuffled);
    const typed = Int32Array.from(items);
    expect(new Random(4).shuffle(typed)).toBe(typed);
    expect(Array.from(typed)).toEqual(shuffled);
  });

  it('picks elements of the list', () => {
    const random = new Random(5);
    const seen = new Set(Array.from({ length: 200 }, () => random.pick(['a', 'b', 'c'])));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });

  it('rejects arguments it cannot honour', () => {
    expect(() => new Random(1.5)).toThrow(/integer/);
    expect(() => new Random(1).integer(3, 2)).toThrow(RangeError);
    expect(() => new Random(1).uniform(1, 0)).toThrow(RangeError);
    expect(() => new Random(1).pick([])).toThrow(/empty/);
  });
});
