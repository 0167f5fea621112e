import { P2prcError, toP2prcError } from '../errors.js';
import type { DirectSignal } from '../protocol/messages.js';
import { answerDirect, serveChannels } from './negotiate.js';
import type { PeerLink } from './peer.js';
import { formatAddress } from '../protocol/address.js';
import type { DirectSignals } from './signals.js';

/** What an owner needs of its control session: the host's signalling and its STUN port. */
export interface SignallingSession {
  stunPort: number;
  readonly direct: DirectSignals;
}

/** A service this owner answers offers for. */
export interface OwnedService {
  id: string;
  localHost?: string | undefined;
  localPort: number;
}

/** Direct peers one owner keeps at once; each is a visitor process with its own keep-alive. */
const MAX_PEERS = 64;
const CONNECT_MS = 30_000;

/**
 * The owner's side of direct paths: answers authentic offers that arrive through the host, keeps
 * the resulting peer links (they outlive the control session: a host restart does not cut them)
 * and serves each channel to the service's local port.
 */
export class DirectOwner {
  private readonly links = new Set<PeerLink>();

  constructor(
    private readonly services: OwnedService[],
    private readonly host: string,
    private readonly bindAddress: string | undefined,
    private readonly onWarning: (message: string) => void,
  ) {}

  attach(session: SignallingSession): void {
    session.direct.onOffer = (offer) => void this.onOffer(session, offer);
  }

  private async onOffer(session: SignallingSession, offer: DirectSignal): Promise<void> {
    const svc = this.services.find((s) => s.id === offer.serviceId);
    try {
      if (!svc) throw new P2prcError('E_NOT_FOUND', `no service ${offer.serviceId} here`);
      if (!session.stunPort) throw new P2prcError('E_NOT_AVAILABLE', 'the host runs no STUN responder');
      if (this.links.size >= MAX_PEERS) throw new P2prcError('E_QUOTA', `owner already has ${MAX_PEERS} direct peers`);
      const peer = {
        stunServers: [`stun:${formatAddress(this.host, session.stunPort)}`],
        bindAddress: this.bindAddress,
      };
      const key = session.direct.takeKey(svc.id, offer.keyId);
      const { link, answer } = await answerDirect(svc.id, key, peer, { ...offer, keyId: offer.keyId ?? '' });
      this.links.add(link);
      link.once('dead', () => this.links.delete(link));
      // An answer the visitor never used (it refused it, or gave up) must not hold a peer slot.
      link.connected(CONNECT_MS).catch(() => (link.close(), this.links.delete(link)));
      serveChannels(link, { host: svc.localHost ?? '127.0.0.1', port: svc.localPort }, this.onWarning);
      session.direct.answer({ serviceId: svc.id, signalId: offer.signalId, ...answer });
    } catch (err) {
      const e = toP2prcError(err);
      if (e.code === 'E_AUTH') this.onWarning(`refused a direct-path offer for ${offer.serviceId}: ${e.message}`);
      session.direct.refuse(offer, e);
    }
  }

  close(): void {
    for (const link of this.links) link.close();
    this.links.clear();
  }
}
