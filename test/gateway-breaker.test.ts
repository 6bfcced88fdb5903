import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/gateway/breaker.js';

describe('the circuit breaker of an upstream', () => {
  // A clock the test moves: no waiting, no timing.
  let now = 0;
  const breaker = () => new CircuitBreaker(3, 1_000, () => now);

  it('opens after the threshold of failures in a row, and a success in between resets the count', () => {
    now = 0;
    const b = breaker();
    b.failed();
    b.failed();
    b.succeeded();
    b.failed();
    b.failed();
    expect(b.allow()).toBe(true);
    b.failed();
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
    expect(b.retryInMs()).toBe(1_000);
  });

  it('lets one trial through after the cooldown: its success closes the breaker, its failure opens it again', () => {
    now = 0;
    const b = breaker();
    for (let i = 0; i < 3; i++) b.failed();
    now = 1_000;
    expect(b.state).toBe('half_open');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false);
    b.failed();
    expect(b.state).toBe('open');
    now = 2_000;
    expect(b.allow()).toBe(true);
    b.succeeded();
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
  });

  it('frees the trial when its client left without telling whether the upstream works', () => {
    now = 0;
    const b = breaker();
    for (let i = 0; i < 3; i++) b.failed();
    now = 1_000;
    expect(b.allow()).toBe(true);
    b.released();
    expect(b.allow()).toBe(true);
  });
});
