/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
 * every platform and run, which makes catalogue generation, data splits, training and simulations
 * reproducible. Not for anything security-related.
 */
export class Random {
  private state: number;

  /** Only the seed's low 32 bits matter. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A float in [min, max). */
  uniform(min: number, max: number): number {
    if (!(min <= max)) throw new RangeError(`uniform needs min <= max, got [${min}, ${max}]`);
    return min + (max - min) * this.next();
  }

  /** true with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** An integer in [min, max], both included. */
  integer(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min > max) {
      throw new RangeError(`integer needs integer bounds with min <= max, got [${min}, ${max}]`);
    }
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. Works on arrays and typed arrays. */
  shuffle<Items extends { length: number; [index: number]: unknown }>(items: Items): Items {
    for (let i = items.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.next() * (i + 1));
      const held = items[i];
      items[i] = items[j];
      items[j] = held;
    }
    return items;
  }

  /** One element of `items`, uniformly. */
  pick<Item>(items: readonly Item[]): Item {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as Item;
  }
}
