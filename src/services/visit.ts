import net from 'node:net';
import { EventEmitter } from 'node:events';
import { P2prcError, toP2prcError } from '../errors.js';
import { debug, debugFailure } from '../log/debug.js';
import type { ServiceInfo } from '../protocol/messages.js';
import { listenTcp, tuneSocket } from '../transport/net.js';
import { openControlSession, type ControlSession } from '../client/control.js';
import { resolveConnectOptions, type ConnectOptions } from '../client/options.js';
import {
  START_MARKER,
  endWithSignalMarker,
  requestTicket,
  secureRelay,
  visitorHandshake,
  visitorResume,
  type LinkKeys,
} from './link.js';
import type { Ticket } from './resume.js';
import { signallingKey, type SignallingKey } from '../protocol/direct.js';
import { bridge } from '../direct/bridge.js';
import { DirectVisit, type DirectMode, type PathState } from '../direct/visit.js';

export type HostAccess = Omit<ConnectOptions, 'tunnels' | 'services'>;

export interface VisitOptions extends HostAccess {
  serviceId: string;
  secret: string;
  localPort: number;
  localHost?: string;
  /** auto (default): direct when possible, else relayed; only: direct or fail (E_NO_DIRECT); off: relayed. */
  direct?: DirectMode;
  /** Bound on one direct attempt before the relay is used. Default 5 s. */
  directTimeoutMs?: number;
}

/** One authenticated control session to a host, reopened when it is lost. */
class SessionKeeper {
  private current: Promise<ControlSession> | undefined;
  /** The certificate fingerprint of the last session that opened (TLS only). */
  fingerprint: string | undefined;

  constructor(private readonly access: HostAccess) {}

  get(): Promise<ControlSession> {
    if (!this.current) {
      const o = resolveConnectOptions({ ...this.access, tunnels: [], poolSize: 0 });
      // A visitor publishes nothing: no tunnel targets, and its pool warnings are only worth a debug line.
      this.current = openControlSession(
        o,
        o.fingerprint,
        () => undefined,
        (m) => debug('E_CLOSED', `visitor session: ${m}`),
      );
      this.current.then(
        (s) => {
          this.fingerprint = s.fingerprint;
          void s.closed.then(() => (this.current = undefined));
        },
        () => (this.current = undefined),
      );
    }
    return this.current;
  }

  async close(): Promise<void> {
    // A session that never opened was already reported to whoever awaited get().
    const s = await this.current?.catch((err: unknown) =>
      debugFailure('visitor session did not open', err, 'E_UNREACHABLE'),
    );
    s?.close();
  }
}

/**
 * `p2prc --list-services <host>`: ids, descriptions, owners' names and state; never secrets or
 * addresses. `loggedIn` hears the host's certificate fingerprint once the login succeeded.
 */
export async function listServices(
  access: HostAccess,
  loggedIn?: (fingerprint: string | undefined) => Promise<void>,
): Promise<ServiceInfo[]> {
  const keeper = new SessionKeeper(access);
  try {
    const session = await keeper.get();
    await loggedIn?.(session.fingerprint);
    return await session.listServices();
  } finally {
    await keeper.close();
  }
}

export class ServiceVisitor extends EventEmitter<{ error: [P2prcError]; path: [PathState] }> {
  port = 0;
  private readonly server = net.createServer({ allowHalfOpen: true });
  private readonly keeper: SessionKeeper;
  private readonly sockets = new Set<net.Socket>();
  private readonly mode: DirectMode;
  private readonly direct: DirectVisit | undefined;
  /** The owner's resumption ticket: relayed connections open with it instead of a full handshake. */
  private ticket: Ticket | undefined;
  private ticketing: Promise<void> | undefined;
  /** The owner answered a ticket request by hanging up: it predates tickets. */
  private noTickets = false;

  constructor(private readonly o: VisitOptions) {
    super();
    this.keeper = new SessionKeeper(o);
    this.mode = o.direct ?? 'auto';
    if (this.mode !== 'off') {
      this.direct = new DirectVisit(
        {
          serviceId: o.serviceId,
          keying: () => this.signallingKey(),
          host: o.host,
          bindAddress: o.directBind,
          timeoutMs: o.directTimeoutMs,
        },
        () => this.keeper.get(),
      );
      this.direct.on('path', (p) => this.emit('path', p));
    }
  }

  /** The host's certificate fingerprint, once a session to it opened (TLS only). */
  get fingerprint(): string | undefined {
    return this.keeper.fingerprint;
  }

  /** How new connections travel now. */
  get path(): PathState {
    return this.direct?.path ?? { kind: 'relayed', reason: 'direct paths off (--direct off)' };
  }

  /**
   * Finds the path (direct first, unless off), checks the service and the secret once (on the
   * direct path the signalling MACs did that; on the relay a probe does, and nothing reaches the
   * service), then opens the local port.
   */
  async start(): Promise<number> {
    try {
      const path = this.direct ? await this.direct.establish() : this.path;
      if (path.kind === 'relayed' && this.mode === 'only')
        throw new P2prcError('E_NO_DIRECT', `no direct path to service ${this.o.serviceId}: ${path.reason}`);
      if (path.kind === 'relayed') await this.probeRelay();
      this.server.on('connection', (local) => void this.onLocal(local));
      this.port = await listenTcp(this.server, this.o.localPort, this.o.localHost ?? '127.0.0.1', {
        name: 'local port',
        flag: '--local-port',
      });
      return this.port;
    } catch (err) {
      this.direct?.close();
      await this.keeper.close();
      throw err;
    }
  }

  /** A relayed visit that runs the handshake only: both ends derive a signalling key from it. */
  private async signallingKey(): Promise<SignallingKey> {
    const link = await (await this.keeper.get()).openVisit(this.o.serviceId);
    try {
      const keys = await visitorHandshake(link, this.o.secret, this.o.serviceId);
      await endWithSignalMarker(link, keys);
      return signallingKey(keys.send);
    } finally {
      link.destroy();
    }
  }

  /** Checks the secret with a full handshake, and asks the owner for a resumption ticket on the way. */
  private async probeRelay(): Promise<void> {
    const probe = await (await this.keeper.get()).openVisit(this.o.serviceId);
    try {
      const keys = await visitorHandshake(probe, this.o.secret, this.o.serviceId);
      await this.keepTicket(probe, keys);
    } finally {
      probe.destroy();
    }
  }

  private async keepTicket(link: net.Socket, keys: LinkKeys): Promise<void> {
    let ticket: Ticket | undefined;
    try {
      ticket = await requestTicket(link, keys);
    } catch (err) {
      return debugFailure(`service ${this.o.serviceId}: no resumption ticket`, err, 'E_PROTOCOL');
    }
    if (ticket) this.ticket = ticket;
    else this.noTickets = true;
  }

  /** A ticket for later connections, fetched in the background over a visit of its own. */
  private fetchTicket(): void {
    if (this.ticketing || this.noTickets) return;
    this.ticketing = (async () => {
      const link = await (await this.keeper.get()).openVisit(this.o.serviceId);
      try {
        await this.keepTicket(link, await visitorHandshake(link, this.o.secret, this.o.serviceId));
      } finally {
        link.destroy();
      }
    })()
      .catch((err: unknown) => debugFailure(`service ${this.o.serviceId}: ticket request failed`, err, 'E_CLOSED'))
      .finally(() => (this.ticketing = undefined));
  }

  /**
   * A relayed visit with its keys: resumed with the ticket when there is one (a ticket the owner no
   * longer holds is dropped, and a full handshake follows on a new visit), else a full handshake.
   */
  private async openRelayed(): Promise<{ link: net.Socket; keys: LinkKeys }> {
    const ticket = this.ticket && this.ticket.expires > Date.now() ? this.ticket : undefined;
    if (ticket) {
      const link = await this.openLink();
      try {
        return { link, keys: await visitorResume(link, ticket) };
      } catch (err) {
        link.destroy();
        if (this.ticket === ticket) this.ticket = undefined;
        debugFailure(`service ${this.o.serviceId}: resumption refused, full handshake`, err, 'E_CLOSED');
      }
    }
    const link = await this.openLink();
    try {
      const keys = await visitorHandshake(link, this.o.secret, this.o.serviceId);
      if (!this.ticket) this.fetchTicket();
      return { link, keys };
    } catch (err) {
      link.destroy();
      throw err;
    }
  }

  private async openLink(): Promise<net.Socket> {
    const link = await (await this.keeper.get()).openVisit(this.o.serviceId);
    this.sockets.add(link);
    link.once('close', () => this.sockets.delete(link));
    return link;
  }

  private async onLocal(local: net.Socket): Promise<void> {
    this.sockets.add(local);
    local.once('close', () => this.sockets.delete(local));
    local.on('error', () => local.destroy());
    local.pause();
    try {
      if (await this.tryDirect(local)) return;
      if (this.mode === 'only')
        throw new P2prcError(
          'E_NO_DIRECT',
          `no direct path to service ${this.o.serviceId} (${this.path.kind === 'relayed' ? this.path.reason : 'channel failed'})`,
        );
      const { link, keys } = await this.openRelayed();
      tuneSocket(local);
      secureRelay(link, local, keys, { first: START_MARKER }, (e) => this.relayFailed(e));
    } catch (err) {
      local.destroy();
      this.report(toP2prcError(err));
    }
  }

  /** A coded failure of the record layer (a tampered record) is reported; a plain close is how connections end. */
  private relayFailed(e: P2prcError): void {
    if (e.code === 'E_CLOSED') debug(e.code, `service ${this.o.serviceId}: relay ended: ${e.message}`);
    else this.report(e);
  }

  private report(e: P2prcError): void {
    // Reported to whoever listens (the CLI prints it); the visitor keeps serving other connections.
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else debug(e.code, `service ${this.o.serviceId}: ${e.message}`);
  }

  /** Carries `local` over the direct path when there is one; false sends it to the relay. */
  private async tryDirect(local: net.Socket): Promise<boolean> {
    const peer = this.direct?.peer;
    if (!peer) return false;
    try {
      const dc = await peer.openChannel('tcp');
      tuneSocket(local);
      bridge(dc, local);
      return true;
    } catch (err) {
      // The path is going down (its 'dead' event follows); this connection takes the relay.
      debugFailure(`service ${this.o.serviceId}: direct channel did not open, relaying`, err, 'E_CLOSED');
      return false;
    }
  }

  async close(): Promise<void> {
    this.direct?.close();
    const closed = new Promise((r) => this.server.close(r));
    for (const s of this.sockets) s.destroy();
    await this.keeper.close();
    await closed;
  }
}
