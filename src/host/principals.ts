import { P2prcError } from '../errors.js';
import { principalLabel } from '../services/principal.js';
import type { HostedTunnel } from './tunnel.js';

export { principalOf } from '../services/principal.js';

/** The part of a session the quota looks at. */
export interface PrincipalSession {
  principal: string;
  readonly tunnels: { readonly size: number };
}

/**
 * Tunnels per principal: its live sessions' tunnels, its registrations in flight (taken before the
 * first await, so parallel Registers from many sessions cannot all pass the check), and its ports held
 * in a grace period (else disconnecting and coming back as a new client id would reset the count).
 * Walked only on Register, never on the data path.
 */
export class PrincipalQuota {
  private readonly sessions = new Map<string, Set<PrincipalSession>>();
  private readonly inFlight = new Map<string, number>();
  /** Tunnels of clients that are not native sessions (frp proxies), by principal. */
  private readonly live = new Map<string, Set<HostedTunnel>>();

  constructor(
    private readonly limit: number,
    private readonly held: () => Iterable<HostedTunnel>,
  ) {}

  added(s: PrincipalSession): void {
    addTo(this.sessions, s.principal, s);
  }

  removed(s: PrincipalSession): void {
    removeFrom(this.sessions, s.principal, s);
  }

  /** An frp proxy's port opened (or taken back from grace) under its principal. */
  opened(t: HostedTunnel): void {
    if (t.principal !== undefined) addTo(this.live, t.principal, t);
  }

  /** It closed, or went into grace (where `held` counts it). */
  closed(t: HostedTunnel): void {
    if (t.principal !== undefined) removeFrom(this.live, t.principal, t);
  }

  count(principal: string): number {
    let n = (this.inFlight.get(principal) ?? 0) + (this.live.get(principal)?.size ?? 0);
    for (const s of this.sessions.get(principal) ?? []) n += s.tunnels.size;
    for (const t of this.held()) if (t.principal === principal) n++;
    return n;
  }

  /** Takes a slot for one registration (E_QUOTA past the limit); the returned function gives it back. */
  reserve(principal: string): () => void {
    if (this.count(principal) >= this.limit) {
      throw new P2prcError(
        'E_QUOTA',
        `${principalLabel(principal)} already holds ${this.limit} tunnels (the host's per-principal limit)`,
      );
    }
    this.inFlight.set(principal, (this.inFlight.get(principal) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.inFlight.get(principal) ?? 1) - 1;
      if (n > 0) this.inFlight.set(principal, n);
      else this.inFlight.delete(principal);
    };
  }
}

/** `value` into the set kept under `key`, created on first use. */
function addTo<V>(map: Map<string, Set<V>>, key: string, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

/** `value` out of the set under `key`; an emptied set goes, so idle principals leave nothing behind. */
function removeFrom<V>(map: Map<string, Set<V>>, key: string, value: V): void {
  const set = map.get(key);
  set?.delete(value);
  if (set?.size === 0) map.delete(key);
}
