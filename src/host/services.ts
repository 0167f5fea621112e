import type net from 'node:net';
import { P2prcError } from '../errors.js';
import { encodeMessage, type ServiceInfo } from '../protocol/messages.js';
import type { ClientSession } from './session.js';

interface Service {
  id: string;
  description: string;
  clientId: string;
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
export class ServiceRegistry {
  private readonly services = new Map<string, Service>();

  constructor(private readonly maxServices = 10_000) {}

  register(owner: ClientSession, id: string, description: string): void {
    const existing = this.services.get(id);
    if (existing && existing.clientId !== owner.clientId && existing.owner) {
      throw new P2prcError('E_CONFLICT', `service id ${id} is registered by another client`);
    }
    if (!existing && this.services.size >= this.maxServices) throw new P2prcError('E_QUOTA', `host holds ${this.maxServices} services`);
    this.services.set(id, { id, description, clientId: owner.clientId, ownerName: owner.name, owner, since: new Date(), visitors: existing?.visitors ?? new Set() });
  }

  list(): ServiceInfo[] {
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
      s.since = new Date();
      for (const v of s.visitors) v.destroy();
      s.visitors.clear();
    }
  }
}
