import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF_ROUNDS, PollPlan } from '../../src/node/poll-plan.js';

const learned = (n: number) => Array.from({ length: n }, (_, i) => `http://127.0.0.1:${10_000 + i}`);

describe('PollPlan (pure)', () => {
  it('polls every configured node, and at most the budget of unverified learned ones, never-tried first', () => {
    const plan = new PollPlan(3);
    const all = learned(10);
    const first = plan.next(['http://boot'], all);
    expect(first).toEqual(['http://boot', ...all.slice(0, 3)]);
    for (const b of first.slice(1)) plan.result(b, false);
    expect(plan.next(['http://boot'], all)).toEqual(['http://boot', ...all.slice(3, 6)]);
  });

  it('a failing node waits 2, 4, 8 … rounds (capped); one that answers is polled every round until it fails', () => {
    const plan = new PollPlan(1);
    const [a] = learned(1);
    const polledIn: number[] = [];
    for (let round = 1; round <= 40; round++) {
      if (plan.next([], [a!]).includes(a!)) {
        polledIn.push(round);
        plan.result(a!, false);
      }
    }
    expect(polledIn).toEqual([1, 3, 7, 15, 31]);
    const p2 = new PollPlan(1);
    p2.next([], [a!]);
    p2.result(a!, true);
    expect(p2.verified(a!)).toBe(true);
    expect(p2.next([], [a!])).toEqual([a]);
    p2.result(a!, false);
    expect(p2.verified(a!)).toBe(false);
    expect(p2.next([], [a!])).toEqual([]);
    expect(MAX_BACKOFF_ROUNDS).toBeGreaterThanOrEqual(32);
  });

  it('forgets nodes no longer listed, so its state is bounded by the table', () => {
    const plan = new PollPlan(2);
    const [a, b] = learned(2);
    plan.next([], [a!, b!]);
    plan.result(a!, true);
    plan.next([], [b!]);
    expect(plan.verified(a!)).toBe(false);
  });
});
