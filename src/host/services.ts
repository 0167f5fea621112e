import type net from 'node:net';
import { createHash } from 'node:crypto';
import { P2prcError } from '../errors.js';
import { encodeMessage, type ServiceInfo } from '../protocol/messages.js';
import type { ClientSession } from './session.js';

interface Service {
  id: string;
  description: string;
  clientId: string;
  /** Who owns the ID across disconnects: an account, the hash of an owner key, or (legacy) the client id. */
  principal: string;
  ownerName: string;
  owner: ClientSession | undefined;
  since: Date;
  visitors: Set<net.Socket>;
}

/**
 * Private services by ID (the tcp-relay model): no public port; visitors holding the host's token
 * connect by ID, and the service's own secret is checked end to end between visitor and owner. The
 * host only pairs connections, hides each side's address from the other, and relays ciphertext.
 */
export interface ServiceLimits {
  /** All services on the host. */
  maxServices: number;
  /** Services one principal (account, owner key or client) may hold. */
  perOwner: number;
  /** An offline service's ID is released after this long (the operator's policy; owners can come back before). */
  offlineTtlMs: number;
}

export const DEFAULT_SERVICE_LIMITS: ServiceLimits = { maxServices: 10_000, perOwner: 32, offlineTtlMs: 24 * 3_600_000 };

/** The principal an ID is bound to: the account, else the owner key's hash (the host never keeps the key). */
export function servicePrincipal(owner: Pick<ClientSession, 'clientId' | 'user'>, ownerKey: string | undefined): string {
  if (owner.user) return `user:${owner.user}`;
  if (ownerKey) return `key:${createHash('sha256').update(ownerKey, 'hex').digest('hex')}`;
  return `client:${owner.clientId}`;
}

export class ServiceRegistry {
  private readonly services = new Map<string, Service>();
  private readonly limits: ServiceLimits;

  constructor(limits: Partial<ServiceLimits> | number = {}, private readonly now = () => Date.now()) {
    this.limits = { ...DEFAULT_SERVICE_LIMITS, ...(typeof limits === 'number' ? { maxServices: limits } : limits) };
  }

  /**
   * Binds `id` to the owner's principal. An ID stays bound while its owner is offline (no squatting
   * in the gap) until it expires; another principal gets E_CONFLICT whether the owner is online or not.
   */
  register(owner: ClientSession, id: string, description: string, ownerKey?: string): void {
    this.expire();
    const principal = servicePrincipal(owner, ownerKey);
    const existing = this.services.get(id);
    if (existing && existing.principal !== principal) throw new P2prcError('E_CONFLICT', `service id ${id} is registered by another owner`);
    if (!existing) {
      if (this.services.size >= this.limits.maxServices) throw new P2prcError('E_QUOTA', `host holds ${this.limits.maxServices} services`);
      let held = 0;
      for (const s of this.services.values()) if (s.principal === principal) held++;
      if (held >= this.limits.perOwner) throw new P2prcError('E_QUOTA', `one owner may hold ${this.limits.perOwner} services`);
    }
    this.services.set(id, {
      id, description, clientId: owner.clientId, principal, ownerName: owner.name, owner, since: new Date(this.now()), visitors: existing?.visitors ?? new Set(),
    });
  }

  /** Drops offline services past their time to live. */
  private expire(): void {
    const cutoff = this.now() - this.limits.offlineTtlMs;
    for (const [id, s] of this.services) if (!s.owner && s.since.getTime() < cutoff) this.services.delete(id);
  }

  list(): ServiceInfo[] {
    this.expire();
    return [...this.services.values()].map((s) => ({ id: s.id, description: s.description, owner: s.ownerName, online: !!s.owner, since: s.since.toISOString() }));
  }

  /** Hands a visitor's connection to the owner; answers unknown or offline services with a coded error. */
  visit(id: string, visitor: net.Socket, visitorId: number): void {
    const s = this.services.get(id);
    if (!s) throw new P2prcError('E_NOT_FOUND', `no service with id ${id}`);
    if (!s.owner) throw new P2prcError('E_UNREACHABLE', `service ${id} is offline`);
    s.visitors.add(visitor);
    visitor.once('close', () => s.visitors.delete(visitor));
    // The visitor learns the pairing happened; what follows is the end-to-end handshake, then ciphertext.
    visitor.write(encodeMessage('Bind', { tunnelId: id, visitorId, remote: '' }));
    s.owner.acceptVisitor({ tunnelId: `svc:${id}`, port: 0, hideRemote: true }, visitor);
  }

  /** The owner went away: its services show offline and their visitors are closed at once. */
  ownerClosed(owner: ClientSession): void {
    for (const s of this.services.values()) {
      if (s.owner !== owner) continue;
      s.owner = undefined;
      s.since = new Date(this.now());
      for (const v of s.visitors) v.destroy();
      s.visitors.clear();
    }
  }
}
