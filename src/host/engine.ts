import { addressOf } from '../protocol/address.js';
import type net from 'node:net';
import type tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { P2prcError, toP2prcError, type ErrorCode } from '../errors.js';
import type { LogFn } from '../log/logger.js';
import { encodeMessage, type Message, type Messages } from '../protocol/messages.js';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame.js';
import { FrameChannel } from '../transport/channel.js';
import { tuneSocket, wrapServerTls } from '../transport/net.js';
import { DEFAULT_PAIRING_LIMITS } from '../transport/pairing-pool.js';
import { isFrpOwnerId } from './frp-ports.js';
import { authenticateControl, classifyFirstByte, hostAuthProof, verifyDataHello } from './handshake.js';
import type { ResolvedHostOptions } from './options.js';
import { negotiateTunnel, type PortRegister, type RegistryOptions } from './register.js';
import type { Reservations } from './reservations.js';
import type { ServiceRegistry } from '../services/registry.js';
import { ClientSession, type SessionContext } from './session.js';
import { principalOf } from './principals.js';
import { GuessThrottle } from '../services/guess-throttle.js';
import type { HostedTunnel } from './tunnel.js';
import { VhostTunnel } from './vhost-tunnel.js';
import { claimedDomains } from '../vhost/router.js';
import type { VhostServer } from '../vhost/vhost-server.js';
import { HttpsVhostServer } from '../vhost/https-server.js';

/** What the native engine reports to the host (which turns it into events). */
export interface EngineEvents {
  client(e: { clientId: string; name: string; remote: string }): void;
  clientClosed(e: { clientId: string; name: string; reason: string | undefined }): void;
  tunnel(e: { clientId: string; name: string; port: number }): void;
  /** A tunnel request or a visit turned away (login refusals surface as errors from accept). */
  refused(e: { stage: 'tunnel' | 'visit'; code: ErrorCode; remote: string; client?: string; message: string }): void;
}

export interface EngineDeps {
  options: ResolvedHostOptions;
  hostId: string;
  tls: tls.SecureContext | undefined;
  registry: RegistryOptions;
  reservations: Reservations;
  services: ServiceRegistry;
  log: LogFn;
  events: EngineEvents;
  /** The host's HTTP virtual-host server, for native http tunnels. */
  vhost: VhostServer | undefined;
  /** The host's HTTPS (SNI) virtual-host server, for native https tunnels. */
  httpsVhost: HttpsVhostServer | undefined;
  /** The STUN responder's UDP port, told to clients at login; 0 when there is none. */
  stunPort: () => number;
}

/**
 * p2prc's own protocol on the host: the framed handshake (TLS or plain), then a connection becomes a
 * client's control session, one of its data connections, or a visit to a private service.
 */
export class NativeEngine {
  readonly sessions = new Map<string, ClientSession>();
  private readonly byClient = new Map<string, ClientSession>();
  private readonly sessionCtx: SessionContext;
  private readonly userSaltSecret = randomBytes(32);
  /**
   * Each control handshake is one online guess at the token for whoever is on the other side: a
   * source whose handshakes keep failing waits, doubling, while other sources log in as usual.
   */
  private readonly loginGuesses = new GuessThrottle({
    freePerSource: 64, // the handshakes one source may have pending at once (admission), all counted up front
    freePerId: 1_000,
    baseMs: 1_000,
    maxMs: 300_000,
    forgetMs: 600_000,
  });
  private visitIds = 0;
  private shuttingDown = false;
  private closedPoolMisses = 0;

  constructor(private readonly d: EngineDeps) {
    const { options, services } = d;
    this.sessionCtx = {
      heartbeatMs: options.heartbeatMs,
      pairing: DEFAULT_PAIRING_LIMITS,
      register: (s, req) => this.register(s, req),
      closeTunnel: (s, id) => this.closeTunnel(s, id),
      sessionClosed: (s, reason) => this.sessionClosed(s, reason),
      registerService: (s, id, description, ownerKey) => services.register(s, id, description, ownerKey),
      serviceGuessFailed: (id, remote) => services.guessFailed(id, remote),
      signal: (s, m) => services.signal(s, m, !options.users || !!s.user),
      listServices: (s, after) => {
        if (options.users && !s.user)
          throw new P2prcError('E_AUTH', 'this host requires a user account (--user) to list services');
        // Half a frame of the smaller of our limit and the clients' default, for the JSON around the entries.
        return after === undefined
          ? { services: services.list() }
          : services.listPage(after, Math.min(options.maxFrameSize, DEFAULT_MAX_FRAME_SIZE) / 2);
      },
      log: d.log,
    };
  }

  /**
   * A connection that is not frp's (`first` is its first byte, still in the stream; `secured` its TLS
   * layer when the front door already opened it); resolves once it has a role.
   */
  async accept(raw: net.Socket, first: number, remote: string, secured?: tls.TLSSocket): Promise<void> {
    const { options, tls: context } = this.d;
    const kind = classifyFirstByte(first);
    let socket: net.Socket = raw;
    if (secured) socket = secured;
    else if (kind === 'tls' && context) socket = wrapServerTls(raw, context);
    else if (kind === 'p2prc' && context) throw new P2prcError('E_TLS', 'plaintext connection to a TLS-only host');
    else if (kind !== 'p2prc')
      throw new P2prcError('E_PROTOCOL', `unrecognized protocol (first byte 0x${first.toString(16)})`);
    else tuneSocket(raw);
    const channel = new FrameChannel(socket, {
      expectPreamble: true,
      maxFrameSize: options.maxFrameSize,
      rawAfter: isDataHello,
    });
    const hello = await channel.next(options.handshakeTimeoutMs);
    if (hello.type !== 'Hello') throw new P2prcError('E_PROTOCOL', `expected Hello, got ${hello.type}`);
    if (hello.body.role === 'data') this.acceptData(channel, hello.body);
    else if (hello.body.role === 'visit') this.acceptVisit(channel, hello.body, remote);
    else await this.acceptControl(channel, hello.body, remote);
  }

  private acceptData(channel: FrameChannel, hello: Extract<Messages['Hello'], { role: 'data' }>): void {
    const session = this.sessions.get(hello.sessionId);
    // A session that just ended still has data connections in flight: not an attack, just late.
    if (!session) throw new P2prcError('E_CLOSED', 'data connection for a session that has ended');
    if (!verifyDataHello(session.key, hello) || !session.acceptsSeq(hello.seq)) {
      throw new P2prcError('E_AUTH', 'data connection with a bad or replayed proof');
    }
    const head = channel.detach();
    if (hello.mux) session.addMuxConnection(channel.socket, head);
    else session.addDataConnection(channel.socket);
  }

  /** A visitor's connection to a private service: authenticated like a data connection of its own session. */
  private acceptVisit(
    channel: FrameChannel,
    hello: Extract<Messages['Hello'], { role: 'visit' }>,
    remote: string,
  ): void {
    const session = this.sessions.get(hello.sessionId);
    if (!session || !verifyDataHello(session.key, hello) || !session.acceptsSeq(hello.seq)) {
      throw new P2prcError('E_AUTH', 'service visit with an unknown session or a bad proof');
    }
    const socket = channel.socket;
    channel.detach();
    try {
      if (this.d.options.users && !session.user)
        throw new P2prcError('E_AUTH', 'this host requires a user account (--user) to visit services');
      this.d.services.visit(hello.serviceId, socket, ++this.visitIds, remote);
      this.d.log('info', `visitor ${remote} connected to service ${hello.serviceId}`);
    } catch (err) {
      const e = toP2prcError(err);
      socket.end(encodeMessage('Error', { code: e.code, message: e.message }));
      this.d.events.refused({ stage: 'visit', code: e.code, remote, client: session.name, message: e.message });
    }
  }

  private async acceptControl(
    channel: FrameChannel,
    hello: Extract<Messages['Hello'], { role: 'control' }>,
    remote: string,
  ): Promise<void> {
    const { options } = this.d;
    // Ports are owned by client id; frp proxies own theirs under reserved ids a native client must not claim.
    if (isFrpOwnerId(hello.clientId))
      throw new P2prcError('E_PROTOCOL', `client id ${JSON.stringify(hello.clientId)} is reserved for frp clients`);
    if (this.sessions.size >= options.maxClients && !this.byClient.has(hello.clientId)) {
      channel.send('Error', { code: 'E_QUOTA', message: `host is full (${options.maxClients} clients)` });
      throw new P2prcError('E_QUOTA', 'too many clients');
    }
    const users = options.users ? { list: options.users, secret: this.userSaltSecret } : undefined;
    const address = addressOf(remote);
    const wait = this.loginGuesses.waitMs(address, 'login');
    if (wait > 0) {
      const message = `too many failed logins from ${address}: try again in ${Math.ceil(wait / 1000)} s`;
      channel.send('Error', { code: 'E_QUOTA', message });
      throw new P2prcError('E_QUOTA', message);
    }
    // Counted as failed before the Challenge leaves, forgiven once the client's proof checks out.
    const auth = await authenticateControl(
      channel,
      hello,
      options.token,
      this.d.hostId,
      options.handshakeTimeoutMs,
      users,
      {
        onGuess: () => void this.loginGuesses.failed(address, 'login'),
        onProven: () => this.loginGuesses.forgive(address, 'login'),
      },
    );
    // A client that reconnects before we noticed its old connection died replaces it.
    this.byClient
      .get(auth.clientId)
      ?.close(new P2prcError('E_CLOSED', 'replaced by a new connection from the same client'));
    const sessionId = randomBytes(16).toString('hex');
    const session = new ClientSession(sessionId, auth.clientId, auth.name, remote, auth.key, channel, this.sessionCtx);
    session.user = auth.user;
    session.principal = principalOf(auth.user, remote);
    this.d.registry.quota.added(session);
    this.sessions.set(sessionId, session);
    this.byClient.set(auth.clientId, session);
    channel.send('AuthOk', {
      sessionId,
      mac: hostAuthProof(auth, sessionId),
      heartbeatMs: options.heartbeatMs,
      publicHost: options.publicHost ?? '',
      graceMs: options.graceMs,
      ...(this.d.stunPort() ? { stunPort: this.d.stunPort() } : {}),
      ...(auth.userSignature ? { userSig: auth.userSignature } : {}),
    });
    this.d.log('info', `client ${auth.name} connected from ${remote}`, 'login', { client: auth.name, peer: remote });
    this.d.events.client({ clientId: auth.clientId, name: auth.name, remote });
  }

  private async register(session: ClientSession, req: Messages['Register']): Promise<HostedTunnel> {
    const { registry, reservations } = this.d;
    let tunnel: HostedTunnel;
    const protocol = req.protocol === 'udp' ? 'udp' : 'tcp';
    // Taking back one's own port held in grace is not a new tunnel: no quota refuses it.
    const routed = req.protocol === 'http' || req.protocol === 'https';
    const reclaim =
      !routed &&
      (req.remotePort > 0
        ? reservations.isHeldFor(session.clientId, req.remotePort, protocol)
        : reservations.heldNamed(session.clientId, req.name, protocol) !== undefined);
    let unreserve: () => void = () => {};
    try {
      if (!reclaim) unreserve = this.d.registry.quota.reserve(session.principal);
      tunnel = routed
        ? this.claimVhost(session, req)
        : await negotiateTunnel(registry, session, req as PortRegister, {
            take: (port, protocol) => reservations.take(session.clientId, port, protocol),
            takeNamed: (name, protocol) => reservations.takeNamed(session.clientId, name, protocol),
          });
    } catch (err) {
      unreserve();
      const e = explainTaken(toP2prcError(err), req.remotePort, (port) =>
        reservations.secondsHeldFor(port, protocol, session.clientId),
      );
      // The client is told why; the operator should be too (a refused port, a quota, no permission).
      if (e.code !== 'E_CLOSED')
        this.d.events.refused({
          stage: 'tunnel',
          code: e.code,
          remote: session.remote,
          client: session.name,
          message: `tunnel ${req.name}: ${e.message}`,
        });
      throw e;
    }
    unreserve(); // from here the tunnel counts in the session (or is gone)
    if (!this.sessions.has(session.sessionId)) {
      tunnel.close();
      registry.policy.release(tunnel.port, session.clientId, tunnel.protocol);
      throw new P2prcError('E_CLOSED', 'session closed during registration');
    }
    tunnel.sink = session;
    tunnel.principal = session.principal;
    session.tunnels.set(req.tunnelId, tunnel);
    this.d.log('info', `tunnel ${req.name} of ${session.name} published on port ${tunnel.port}`, 'tunnel-opened', {
      client: session.name,
      tunnel: req.name,
      port: tunnel.port,
    });
    this.d.events.tunnel({ clientId: session.clientId, name: req.name, port: tunnel.port });
    return tunnel;
  }

  /**
   * A native http or https tunnel: a route on the HTTP or HTTPS vhost port for its domain (a bare name
   * is a subdomain of the subdomain host).
   */
  private claimVhost(session: ClientSession, req: Messages['Register']): HostedTunnel {
    const kind = req.protocol === 'https' ? 'https' : 'http';
    const vhost = kind === 'https' ? this.d.httpsVhost : this.d.vhost;
    if (!vhost)
      throw new P2prcError(
        'E_NOT_AVAILABLE',
        `this host has no ${kind.toUpperCase()} virtual-host port (--vhost-${kind}-port)`,
      );
    const name = req.domain ?? '';
    const domains = name.includes('.')
      ? claimedDomains([name], undefined, this.d.options.subdomainHost, kind)
      : claimedDomains([], name, this.d.options.subdomainHost, kind);
    const tunnel = new VhostTunnel(req.tunnelId, vhost.port, session.clientId, req.name, domains[0]!, kind);
    tunnel.claimed(
      vhost instanceof HttpsVhostServer
        ? vhost.register(domains, tunnel.sniRoute(), session.principal)
        : vhost.register(domains, [], tunnel.route(), session.principal),
    );
    return tunnel;
  }

  private closeTunnel(session: ClientSession, tunnelId: string): void {
    const tunnel = session.tunnels.get(tunnelId);
    if (!tunnel) return;
    session.tunnels.delete(tunnelId);
    this.d.reservations.release(tunnel);
  }

  /** Parked data connections, and visitors that found none (closed sessions included). */
  poolStats(): { dataPoolSize: number; dataPoolMisses: number } {
    let size = 0;
    let misses = this.closedPoolMisses;
    for (const s of this.sessions.values()) {
      size += s.idleCount;
      misses += s.poolMisses;
    }
    return { dataPoolSize: size, dataPoolMisses: misses };
  }

  private sessionClosed(session: ClientSession, reason: P2prcError | undefined): void {
    this.sessions.delete(session.sessionId);
    this.d.registry.quota.removed(session);
    this.closedPoolMisses += session.poolMisses;
    this.d.services.ownerClosed(session);
    if (this.byClient.get(session.clientId) === session) this.byClient.delete(session.clientId);
    // Only a lost client's ports are held; one that closed its tunnels (or a host shutting down) holds nothing.
    const held = this.shuttingDown ? 0 : session.tunnels.size;
    const holding =
      held > 0
        ? `; its ${held} port${held === 1 ? ' is' : 's are'} held for ${Math.round(this.d.options.graceMs / 1000)} s`
        : '';
    this.d.log(
      'info',
      `client ${session.name} disconnected${reason ? `: ${reason.message}` : ''}${holding}`,
      'logout',
      {
        client: session.name,
        peer: session.remote,
        reason: reason?.code,
      },
    );
    this.d.events.clientClosed({ clientId: session.clientId, name: session.name, reason: reason?.message });
    // A route is not a port: it is given back at once (a reconnecting client claims it again).
    for (const tunnel of session.tunnels.values()) {
      if (tunnel instanceof VhostTunnel) this.d.reservations.release(tunnel);
      else this.d.reservations.hold(session.clientId, tunnel, session.name);
    }
    session.tunnels.clear();
  }

  close(): void {
    this.shuttingDown = true;
    for (const s of [...this.sessions.values()]) s.close(new P2prcError('E_CLOSED', 'host shutting down'));
  }
}

/** A port taken because it is held for another, disconnected client says so, and for how long. */
function explainTaken(e: P2prcError, port: number, heldFor: (port: number) => number | undefined): P2prcError {
  const seconds = e.code === 'E_PORT_TAKEN' && port > 0 ? heldFor(port) : undefined;
  if (seconds === undefined) return e;
  return new P2prcError('E_PORT_TAKEN', `port ${port} is reserved for a disconnected client for another ${seconds} s`, {
    details: { ...e.details, side: 'host', port },
  });
}

function isDataHello(m: Message): boolean {
  return m.type === 'Hello' && m.body.role !== 'control';
}
