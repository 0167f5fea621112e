import { addressOf } from '../protocol/address.js';
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { P2prcError } from '../errors.js';
import type { LogFn } from '../log/logger.js';
import { encodeMessage, type Message, type Messages, type ServiceInfo } from '../protocol/messages.js';
import type { VisitorStream } from '../transport/pairing-pool.js';
import { GuessThrottle, type GuessLimits } from './guess-throttle.js';
import { principalLabel } from './principal.js';

/** What the registry needs of a host's client session: who it is, its control channel, its visitors. */
export interface ServiceSession {
  readonly clientId: string;
  readonly name: string;
  readonly remote: string;
  user: string | undefined;
  /** Who the host authenticated: the account, else the client's address (an IPv6 /64); host/principals.ts. */
  readonly principal: string;
  send<K extends keyof Messages>(type: K, body: Messages[K]): void;
  acceptVisitor(tunnel: { tunnelId: string; port: number; hideRemote?: boolean }, visitor: VisitorStream): void;
}

interface Service {
  id: string;
  description: string;
  clientId: string;
  /** Who owns the ID across disconnects: an account, the hash of an owner key, or (legacy) the client id. */
  principal: string;
  /** Whose quota it counts against: the authenticated principal that registered it. */
  holder: string;
  ownerName: string;
  owner: ServiceSession | undefined;
  since: Date;
  visitors: Set<Socket>;
  /** Bytes this host relayed for the service's visits (both directions): zero while visits go direct. */
  relayedBytes: number;
}

type Signal = Extract<Message, { type: 'DirectOffer' | 'DirectAnswer' | 'DirectRefused' }>;

/** An offer on its way to an owner: where its answer must go back to. */
interface PendingSignal {
  serviceId: string;
  visitor: ServiceSession;
  visitorSignalId: string;
  owner: ServiceSession;
  timer: NodeJS.Timeout;
}

const SIGNAL_TTL_MS = 15_000;
const MAX_PENDING_SIGNALS = 4096;

/**
 * Private services by ID (the tcp-relay model): no public port; visitors holding the host's token
 * connect by ID, and the service's own secret is checked end to end between visitor and owner. The
 * host only pairs connections, hides each side's address from the other, and relays ciphertext.
 */
export interface ServiceLimits {
  /** All services on the host. */
  maxServices: number;
  /**
   * Services one authenticated principal (an account, else an address or IPv6 /64) may hold, offline
   * ones included. Not per owner key: the client makes those up, so a quota per key is no quota.
   */
  perPrincipal: number;
  /** An offline service's ID is released after this long (the operator's policy; owners can come back before). */
  offlineTtlMs: number;
  /** Backoff after wrong secrets, per source and per ID (guess-throttle.ts). */
  guesses: Partial<GuessLimits>;
}

export const DEFAULT_SERVICE_LIMITS: ServiceLimits = {
  maxServices: 10_000,
  perPrincipal: 32,
  offlineTtlMs: 24 * 3_600_000,
  guesses: {},
};

/** The principal an ID is bound to: the account, else the owner key's hash (the host never keeps the key). */
export function servicePrincipal(
  owner: Pick<ServiceSession, 'clientId' | 'user'>,
  ownerKey: string | undefined,
): string {
  if (owner.user) return `user:${owner.user}`;
  if (ownerKey) return `key:${createHash('sha256').update(ownerKey, 'hex').digest('hex')}`;
  return `client:${owner.clientId}`;
}

export class ServiceRegistry {
  private readonly services = new Map<string, Service>();
  private readonly signals = new Map<string, PendingSignal>();
  private signalIds = 0;
  private readonly limits: ServiceLimits;
  private readonly guesses: GuessThrottle;

  constructor(
    limits: Partial<ServiceLimits> | number = {},
    private readonly now = () => Date.now(),
    private readonly log: LogFn = () => undefined,
  ) {
    this.limits = { ...DEFAULT_SERVICE_LIMITS, ...(typeof limits === 'number' ? { maxServices: limits } : limits) };
    this.guesses = new GuessThrottle(this.limits.guesses, now);
  }

  /**
   * Binds `id` to the owner's principal. An ID stays bound while its owner is offline (no squatting
   * in the gap) until it expires; another principal gets E_CONFLICT whether the owner is online or not.
   */
  register(owner: ServiceSession, id: string, description: string, ownerKey?: string): void {
    this.expire();
    const principal = servicePrincipal(owner, ownerKey);
    const existing = this.services.get(id);
    if (existing && existing.principal !== principal)
      throw new P2prcError('E_CONFLICT', `service id ${id} is registered by another owner`);
    if (!existing) {
      if (this.services.size >= this.limits.maxServices)
        throw new P2prcError('E_QUOTA', `host holds ${this.limits.maxServices} services`);
      let held = 0;
      for (const s of this.services.values()) if (s.holder === owner.principal) held++;
      if (held >= this.limits.perPrincipal)
        throw new P2prcError(
          'E_QUOTA',
          `${principalLabel(owner.principal)} already holds ${this.limits.perPrincipal} services (the host's per-principal limit)`,
        );
    }
    this.services.set(id, {
      id,
      description,
      clientId: owner.clientId,
      principal,
      holder: owner.principal,
      ownerName: owner.name,
      owner,
      since: new Date(this.now()),
      visitors: existing?.visitors ?? new Set(),
      relayedBytes: existing?.relayedBytes ?? 0,
    });
  }

  /** Drops offline services past their time to live. */
  private expire(): void {
    const cutoff = this.now() - this.limits.offlineTtlMs;
    for (const [id, s] of this.services) if (!s.owner && s.since.getTime() < cutoff) this.services.delete(id);
  }

  list(): ServiceInfo[] {
    this.expire();
    return [...this.services.values()].map(info);
  }

  /**
   * The services after `after` in id order, as many as fit in `maxBytes` of JSON (at least one), and
   * the cursor of the next page: a list of 10,000 IDs no longer exceeds a frame (E_TOO_LARGE).
   */
  listPage(after: string, maxBytes: number): { services: ServiceInfo[]; next?: string } {
    this.expire();
    const ids = [...this.services.keys()].filter((id) => id > after).sort();
    const services: ServiceInfo[] = [];
    let bytes = 0;
    for (const id of ids) {
      const s = info(this.services.get(id)!);
      bytes += Buffer.byteLength(JSON.stringify(s)) + 1;
      if (services.length > 0 && bytes > maxBytes) return { services, next: services[services.length - 1]!.id };
      services.push(s);
    }
    return { services };
  }

  /** Hands a visitor's connection to the owner; answers unknown or offline services, and throttled guessers, with a coded error. */
  visit(id: string, visitor: Socket, visitorId: number, remote: string): void {
    this.checkGuesses(id, remote);
    const s = this.services.get(id);
    if (!s) throw new P2prcError('E_NOT_FOUND', `no service with id ${id}`);
    if (!s.owner) throw new P2prcError('E_UNREACHABLE', `service ${id} is offline`);
    s.visitors.add(visitor);
    visitor.once('close', () => {
      s.visitors.delete(visitor);
      const bytes = visitor.bytesRead + visitor.bytesWritten;
      s.relayedBytes += bytes;
      this.log('info', `service ${id}: relayed visit closed, ${bytes} bytes (service total ${s.relayedBytes})`);
    });
    // The visitor learns the pairing happened; what follows is the end-to-end handshake, then ciphertext.
    visitor.write(encodeMessage('Bind', { tunnelId: id, visitorId, remote: '' }));
    s.owner.acceptVisitor({ tunnelId: `svc:${id}`, port: 0, hideRemote: true }, visitor);
  }

  /**
   * E_QUOTA (not a code of its own: codes cross the wire in Error frames, and older peers take an
   * unknown one for a protocol violation) while `remote` is backing off from guessing at `id`.
   */
  private checkGuesses(id: string, remote: string): void {
    const wait = this.guesses.waitMs(addressOf(remote), id);
    if (wait > 0)
      throw new P2prcError(
        'E_QUOTA',
        `too many wrong secrets for service ${id}; try again in ${Math.ceil(wait / 1000)} s`,
        { details: { retryAfterMs: wait } },
      );
  }

  /** The owner says a visit (or a direct offer) to `id` from `remote` had the wrong secret. */
  guessFailed(id: string, remote: string): void {
    const n = this.guesses.failed(addressOf(remote), id);
    this.log(
      'warn',
      `wrong secret for service ${id} from visitor ${remote} (${n.source} from this source, ${n.id} for this id)`,
    );
  }

  /**
   * Routes direct-path signalling: a visitor's offer to the service's owner under a host-chosen id,
   * the owner's answer (or refusal) back to that visitor only. The host cannot forge or alter either:
   * both are MAC'd with the service secret (docs/direct.md); it only decides where they go.
   */
  signal(from: ServiceSession, m: Signal, mayVisit: boolean): void {
    const { serviceId, signalId } = m.body;
    const refuse = (e: P2prcError) =>
      from.send('DirectRefused', { serviceId, signalId, code: e.code, message: e.message });
    if (m.type !== 'DirectOffer') return this.signalBack(from, m);
    const s = this.services.get(serviceId);
    if (!mayVisit)
      return refuse(new P2prcError('E_AUTH', 'this host requires a user account (--user) to visit services'));
    if (!s) return refuse(new P2prcError('E_NOT_FOUND', `no service with id ${serviceId}`));
    if (!s.owner) return refuse(new P2prcError('E_UNREACHABLE', `service ${serviceId} is offline`));
    try {
      this.checkGuesses(serviceId, from.remote);
    } catch (err) {
      return refuse(err as P2prcError);
    }
    if (this.signals.size >= MAX_PENDING_SIGNALS)
      return refuse(new P2prcError('E_QUOTA', 'too many direct-path offers in flight'));
    const hostSignalId = `h${++this.signalIds}`;
    const owner = s.owner;
    const timer = setTimeout(() => this.signals.delete(hostSignalId), SIGNAL_TTL_MS);
    timer.unref();
    this.signals.set(hostSignalId, { serviceId, visitor: from, visitorSignalId: signalId, owner, timer });
    owner.send('DirectOffer', { ...m.body, signalId: hostSignalId });
  }

  private signalBack(from: ServiceSession, m: Exclude<Signal, { type: 'DirectOffer' }>): void {
    const pending = this.signals.get(m.body.signalId);
    // Only the owner the offer went to may answer it; anything else is dropped.
    if (!pending || pending.owner !== from) return;
    clearTimeout(pending.timer);
    this.signals.delete(m.body.signalId);
    // A wrong MAC on the offer is a wrong guess at the secret, counted like a relayed one.
    if (m.type === 'DirectRefused' && m.body.code === 'E_AUTH')
      this.guessFailed(pending.serviceId, pending.visitor.remote);
    const body = { ...m.body, signalId: pending.visitorSignalId };
    if (m.type === 'DirectAnswer') pending.visitor.send('DirectAnswer', body as typeof m.body);
    else pending.visitor.send('DirectRefused', body as typeof m.body);
  }

  /** What this host relayed per service: the proof that a direct path kept the bytes off it. */
  relayed(): Array<{ id: string; relayedBytes: number; activeVisits: number }> {
    return [...this.services.values()].map((s) => ({
      id: s.id,
      relayedBytes: s.relayedBytes,
      activeVisits: s.visitors.size,
    }));
  }

  /** The owner went away: its services show offline and their visitors are closed at once. */
  ownerClosed(owner: ServiceSession): void {
    for (const s of this.services.values()) {
      if (s.owner !== owner) continue;
      s.owner = undefined;
      s.since = new Date(this.now());
      for (const v of s.visitors) v.destroy();
      s.visitors.clear();
    }
  }
}

function info(s: Service): ServiceInfo {
  return { id: s.id, description: s.description, owner: s.ownerName, online: !!s.owner, since: s.since.toISOString() };
}
