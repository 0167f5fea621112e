import { timingSafeEqual } from 'node:crypto';
import { privilegeKey } from '../codec/messages.js';

/**
 * How far a login's timestamp may be from the host's clock. frp checks no freshness at all; p2prc
 * keeps every accepted key for this long (see LoginReplayCache), so the window only bounds how long a
 * key that never reached the host (an on-path attacker held it back) stays usable.
 */
export const MAX_CLOCK_SKEW_S = 5 * 60;
/** A work connection's timestamp, measured against its own login's clock, may be off by this much. */
export const WORK_CONN_SKEW_S = 30;

/** frp's privilege_key (md5 of token and timestamp), compared in constant time. */
export function keyMatches(token: string, timestamp: number, given: unknown): boolean {
  const expected = Buffer.from(privilegeKey(token, timestamp));
  const got = Buffer.from(String(given ?? ''));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Why a Login is refused, in frps's own words (frpc prints them), or '' when it is accepted. */
export function loginRefusal(body: Record<string, unknown>, token: string, nowS: number): string {
  const timestamp = Number(body.timestamp ?? 0);
  const version = String(body.version ?? '').split('.').map(Number);
  if (!keyMatches(token, timestamp, body.privilege_key) || Math.abs(nowS - timestamp) > MAX_CLOCK_SKEW_S) return 'authorization failed';
  if (version.length < 3 || (version[0]! === 0 && version[1]! < 18)) return 'Please upgrade your frpc version to at least 0.18.0';
  return '';
}

/**
 * Accepted login keys, each usable once. With one token there is exactly one valid key per second, so
 * the cache holds at most 2 × MAX_CLOCK_SKEW_S + 1 entries; pure (the clock is passed in).
 * A side effect worth knowing: two frpc with the same token logging in within the same second get the
 * same key; the second is refused and retries (frpc does, with login_fail_exit = false).
 */
export class LoginReplayCache {
  private readonly seen = new Map<string, number>();

  /** True the first time a (key, timestamp) is presented within the window, false for a replay. */
  use(key: string, timestamp: number, nowS: number): boolean {
    const id = `${key}/${timestamp}`;
    if (this.seen.has(id)) return false;
    for (const [k, ts] of this.seen) if (Math.abs(nowS - ts) > MAX_CLOCK_SKEW_S) this.seen.delete(k);
    this.seen.set(id, timestamp);
    return true;
  }
}

/**
 * frp >= 0.32's authenticate_new_work_conns: a NewWorkConn carries md5(token + timestamp). Checked
 * against its own login's clock (the client's clock offset is known from the login), so skew does not
 * widen the window: a sniffed work-connection key replays for WORK_CONN_SKEW_S at most.
 */
export function workConnProven(body: Record<string, unknown>, token: string, login: { clientTs: number; hostTs: number }, nowS: number): boolean {
  const timestamp = Number(body.timestamp ?? NaN);
  if (!Number.isFinite(timestamp) || !keyMatches(token, timestamp, body.privilege_key)) return false;
  const expected = login.clientTs + (nowS - login.hostTs);
  return Math.abs(timestamp - expected) <= WORK_CONN_SKEW_S;
}
