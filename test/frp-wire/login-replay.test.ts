import { describe, expect, it } from 'vitest';
import {
  DUPLICATE_LOGIN_WINDOW_S,
  LoginReplayCache,
  MAX_CLOCK_SKEW_S,
  MAX_LOGINS_PER_KEY,
} from '../../src/frp-wire/server/auth.js';

describe('frp login keys (pure, the clock passed in)', () => {
  const now = 1_800_000_000;

  it('a key that resumes a run id is used once, and no copy opens a session beside it', () => {
    const cache = new LoginReplayCache();
    expect(cache.use('k', now, now, true)).toBe(true);
    expect(cache.use('k', now, now, true)).toBe(false);
    expect(cache.use('k', now, now, false)).toBe(false);
  });

  it('a fresh key opens new sessions for two frpc of the same second, but never resumes one', () => {
    const cache = new LoginReplayCache();
    expect(cache.use('k', now, now)).toBe(true);
    expect(cache.use('k', now, now + 1)).toBe(true); // the second frpc, byte-identical Login
    expect(cache.use('k', now, now + 1, true)).toBe(false); // a copy may not take over a session
  });

  it('copies are refused once the window has passed or the key opened its maximum', () => {
    const late = new LoginReplayCache();
    expect(late.use('k', now, now)).toBe(true);
    expect(late.use('k', now, now + DUPLICATE_LOGIN_WINDOW_S + 1)).toBe(false);
    const many = new LoginReplayCache();
    const results = Array.from({ length: MAX_LOGINS_PER_KEY + 2 }, () => many.use('k', now, now));
    expect(results.filter(Boolean)).toHaveLength(MAX_LOGINS_PER_KEY);
  });

  it('forgets keys older than the clock window, and keeps different keys apart', () => {
    const cache = new LoginReplayCache();
    expect(cache.use('a', now, now)).toBe(true);
    expect(cache.use('b', now, now, true)).toBe(true);
    expect(cache.use('a', now + 1, now)).toBe(true);
    // after the skew window the old entry is dropped; a key that old is refused by loginRefusal anyway
    expect(cache.use('c', now + MAX_CLOCK_SKEW_S + 10, now + MAX_CLOCK_SKEW_S + 10)).toBe(true);
    expect(cache.use('a', now, now + MAX_CLOCK_SKEW_S + 10)).toBe(true);
  });
});
