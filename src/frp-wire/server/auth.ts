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
  const version = String(body.version ?? '')
    .split('.')
    .map(Number);
  if (!keyMatches(token, timestamp, body.privilege_key) || Math.abs(nowS - timestamp) > MAX_CLOCK_SKEW_S)
    return 'authorization failed';
  if (version.length < 3 || (version[0]! === 0 && version[1]! < 18))
    return 'Please upgrade your frpc version to at least 0.18.0';
  return '';
}

/** How long after its first use a login key may be presented again for a new session (see LoginReplayCache). */
export const DUPLICATE_LOGIN_WINDOW_S = 2;
/** How many sessions one login key may open within that window. */
export const MAX_LOGINS_PER_KEY = 4;

/**
 * Accepted login keys. With one token there is exactly one valid key per second, so two stock frpc
 * with the same token starting in the same second send byte-identical Logins (frp's own CI suite
 * does this), and frpc 0.31 exits when its first login fails. So a key is not strictly one-time:
 * - a key that asks for a run id (a reconnect, taking that run id once its old control is gone) is used once;
 * - a key that asks for none opens a new session, never touching another, within
 *   DUPLICATE_LOGIN_WINDOW_S of its first use and at most MAX_LOGINS_PER_KEY times.
 * A later copy is a replay and is refused. An on-path attacker of a cleartext frp connection can still
 * copy a Login within 2 s and get a session of its own; it cannot act in it, since the control stream
 * is encrypted with the token and a copy of another session's ciphertext is refused (StreamStarts).
 * The cache holds at most 2 × MAX_CLOCK_SKEW_S + 1 keys per token; pure (the clock is passed in).
 */
export class LoginReplayCache {
  private readonly seen = new Map<string, { ts: number; firstUse: number; uses: number }>();

  /** Whether this (key, timestamp) may log in now; `resumes` is true when the login asks for a run id. */
  use(key: string, timestamp: number, nowS: number, resumes = false): boolean {
    const id = `${key}/${timestamp}`;
    const entry = this.seen.get(id);
    if (entry) {
      if (resumes || entry.uses >= MAX_LOGINS_PER_KEY || nowS - entry.firstUse > DUPLICATE_LOGIN_WINDOW_S) return false;
      entry.uses += 1;
      return true;
    }
    for (const [k, e] of this.seen) if (Math.abs(nowS - e.ts) > MAX_CLOCK_SKEW_S) this.seen.delete(k);
    // A resumed session's key is spent at once: no copy may open a session beside it either.
    this.seen.set(id, { ts: timestamp, firstUse: nowS, uses: resumes ? MAX_LOGINS_PER_KEY : 1 });
    return true;
  }
}

/**
 * frp >= 0.32's authenticate_new_work_conns: a NewWorkConn carries md5(token + timestamp). Checked
 * against its own login's clock (the client's clock offset is known from the login), so skew does not
 * widen the window: a sniffed work-connection key replays for WORK_CONN_SKEW_S at most.
 */
export function workConnProven(
  body: Record<string, unknown>,
  token: string,
  login: { clientTs: number; hostTs: number },
  nowS: number,
): boolean {
  const timestamp = Number(body.timestamp ?? NaN);
  if (!Number.isFinite(timestamp) || !keyMatches(token, timestamp, body.privilege_key)) return false;
  const expected = login.clientTs + (nowS - login.hostTs);
  return Math.abs(timestamp - expected) <= WORK_CONN_SKEW_S;
}
