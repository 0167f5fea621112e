import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_BACKOFF, backoffDelay } from '../../src/protocol/backoff.js';

describe('backoff', () => {
  it('grows exponentially, is jittered within [step/2, step], and is capped', () => {
    const opts = { initialMs: 100, maxMs: 1000, factor: 2 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(30, opts, () => 1)).toBe(1000);
    expect(backoffDelay(30, opts, () => 0)).toBe(500);
  });

  it('never drops below half a step nor rises above the cap, for any attempt and random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, DEFAULT_BACKOFF, () => r);
        expect(d).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.initialMs / 2);
        expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
      }),
    );
  });

  it('is non-decreasing in the attempt number for a fixed draw', () => {
    let last = 0;
    for (let attempt = 1; attempt <= 40; attempt++) {
      const d = backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.5);
      expect(d).toBeGreaterThanOrEqual(last);
      last = d;
    }
    expect(last).toBe(Math.round(DEFAULT_BACKOFF.maxMs * 0.75));
  });
});
