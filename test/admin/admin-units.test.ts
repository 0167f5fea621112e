import { describe, expect, it } from 'vitest';
import { bearerMatches, isLoopback } from '../../src/admin/auth.js';
import { EventRing } from '../../src/admin/events.js';
import { refusalReason } from '../../src/admin/model.js';

describe('bearerMatches', () => {
  it('accepts exactly the token, with the Bearer scheme in any case', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
  });
  it.each([
    [undefined],
    [''],
    ['s3cret'],
    ['Bearer'],
    ['Bearer '],
    ['Bearer s3cre'],
    ['Bearer s3crett'],
    ['Basic s3cret'],
    ['Bearer s3cret extra'],
  ])('refuses %j', (header) => {
    expect(bearerMatches(header, 's3cret')).toBe(false);
  });
  it('never accepts an empty token', () => {
    expect(bearerMatches('Bearer ', '')).toBe(false);
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
  ])('%s -> %s', (a, want) => {
    expect(isLoopback(a)).toBe(want);
  });
});

describe('EventRing', () => {
  it('keeps the last N, oldest first, with increasing seq', () => {
    const ring = new EventRing(1_000);
    for (let i = 0; i < 1_234; i++) ring.push({ type: 'login', message: `m${i}` });
    const all = ring.list();
    expect(all).toHaveLength(1_000);
    expect(all[0]!.message).toBe('m234');
    expect(all.at(-1)!.message).toBe('m1233');
    expect(all.every((e, i) => i === 0 || e.seq === all[i - 1]!.seq + 1)).toBe(true);
    expect(ring.size).toBe(1_000);
  });
  it('returns only what is newer than `after`', () => {
    const ring = new EventRing(10);
    const a = ring.push({ type: 'refused', reason: 'auth', message: 'x' });
    ring.push({ type: 'login', message: 'y' });
    expect(ring.list(a.seq).map((e) => e.message)).toEqual(['y']);
  });
});

describe('refusalReason', () => {
  it.each([
    ['E_AUTH', 'auth'],
    ['E_TLS', 'tls'],
    ['E_QUOTA', 'quota'],
    ['E_PORT_TAKEN', 'port_taken'],
    ['E_PORT_DENIED', 'policy'],
    ['E_PROTOCOL', 'protocol'],
    ['E_SOMETHING', 'protocol'],
  ])('%s -> %s', (code, reason) => {
    expect(refusalReason(code)).toBe(reason);
  });
});
