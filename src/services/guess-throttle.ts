/**
 * Online guessing of service secrets, throttled (pure; the registry asks it and tells it). Every
 * visit, relayed or direct, is one guess at the secret (CPace gives nothing to test offline), and
 * only the owner learns whether it was right; it reports wrong ones to the host (`ServiceAuthFailed`,
 * a `DirectRefused` with E_AUTH). The host counts those per source (an IPv4 address, an IPv6 /64)
 * and per service ID: past `free` failures the key is refused for `baseMs`, doubling with each
 * further failure up to `maxMs` (OpenSSH's PerSourcePenalties, fail2ban). A key with no failure for
 * `forgetMs` starts over.
 *
 * The per-ID backoff holds back only sources that have failed themselves. Applied to everyone, it
 * let strangers' wrong guesses lock the owner's visitors out of their own service: failures from one
 * source must never cost another source its access. Applied to failed sources only, it still caps
 * guessing spread over many addresses: while the ID backs off, each address gets one guess (its
 * first, which then counts against it), instead of its own `freePerSource` budget, and a visitor who
 * never failed is never refused.
 */
export interface GuessLimits {
  freePerSource: number;
  freePerId: number;
  baseMs: number;
  maxMs: number;
  forgetMs: number;
  /** Keys remembered; the least recently failed one makes room. */
  maxKeys: number;
}

export const DEFAULT_GUESS_LIMITS: GuessLimits = {
  freePerSource: 5,
  freePerId: 50,
  baseMs: 5_000,
  maxMs: 600_000,
  forgetMs: 3_600_000,
  maxKeys: 10_000,
};

interface Failures {
  count: number;
  last: number;
  until: number;
}

/** The unit an attacker pays for: one IPv4 address, or one IPv6 /64 (a host is given a whole /64). */
export function sourceKey(address: string): string {
  const a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(':')) return a;
  const [head = '', tail] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

export class GuessThrottle {
  private readonly keys = new Map<string, Failures>();
  private readonly limits: GuessLimits;

  constructor(
    limits: Partial<GuessLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_GUESS_LIMITS, ...limits };
  }

  /** Milliseconds until `address` may guess at `id` again; 0 when it may now. */
  waitMs(address: string, id: string): number {
    const now = this.now();
    const source = `s:${sourceKey(address)}`;
    const own = this.remaining(source, now);
    return this.hasFailed(source, now) ? Math.max(own, this.remaining(`i:${id}`, now)) : own;
  }

  /** One wrong guess; returns the failures now counted for the source and for the ID. */
  failed(address: string, id: string): { source: number; id: number } {
    const now = this.now();
    return {
      source: this.bump(`s:${sourceKey(address)}`, this.limits.freePerSource, now),
      id: this.bump(`i:${id}`, this.limits.freePerId, now),
    };
  }

  /**
   * Takes back one failure counted ahead of time: a login counts as failed from the moment its
   * Challenge goes out (so parallel handshakes cannot all slip in before one is counted), and the
   * proof that follows forgives it. A key forgiven down to no failure is forgotten.
   */
  forgive(address: string, id: string): void {
    this.unbump(`s:${sourceKey(address)}`, this.limits.freePerSource);
    this.unbump(`i:${id}`, this.limits.freePerId);
  }

  private unbump(key: string, free: number): void {
    const f = this.keys.get(key);
    if (!f) return;
    f.count--;
    if (f.count <= 0) this.keys.delete(key);
    else if (f.count < free) f.until = 0;
  }

  private hasFailed(key: string, now: number): boolean {
    const f = this.keys.get(key);
    return !!f && now - f.last <= this.limits.forgetMs;
  }

  private remaining(key: string, now: number): number {
    const f = this.keys.get(key);
    return f ? Math.max(0, f.until - now) : 0;
  }

  private bump(key: string, free: number, now: number): number {
    const { baseMs, maxMs, forgetMs, maxKeys } = this.limits;
    let f = this.keys.get(key);
    if (!f || now - f.last > forgetMs) f = { count: 0, last: now, until: 0 };
    f.count++;
    f.last = now;
    if (f.count >= free) f.until = now + Math.min(maxMs, baseMs * 2 ** Math.min(30, f.count - free));
    // Re-inserted so the map stays in least-recently-failed order for eviction.
    this.keys.delete(key);
    this.keys.set(key, f);
    if (this.keys.size > maxKeys) this.keys.delete(this.keys.keys().next().value!);
    return f.count;
  }
}
