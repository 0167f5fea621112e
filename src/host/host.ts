import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { P2prcError, toP2prcError } from '../errors.js';
import { encodeMessage, type Message, type Messages } from '../protocol/messages.js';
import { FrameChannel } from '../transport/channel.js';
import { listenTcp, tuneSocket } from '../transport/net.js';
import { authenticateControl, classifyFirstByte, hostAuthProof, peekFirstChunk, verifyDataHello, wrapServerTls } from './handshake.js';
import { PortPolicy } from './ports.js';
import { ServiceRegistry } from './services.js';
import { FrpHost } from './frp-host.js';
import { negotiateTunnel, type RegistryOptions } from './register.js';
import { ClientSession, type SessionContext } from './session.js';
import type { HostedTunnel } from './tunnel.js';
import { resolveHostOptions, type HostOptions, type ResolvedHostOptions } from './options.js';

export interface HostEvents {
  client: [{ clientId: string; name: string; remote: string }];
  'client-closed': [{ clientId: string; name: string; reason: string | undefined }];
  tunnel: [{ clientId: string; name: string; port: number; engine?: 'frp-wire' }];
  'tunnel-closed': [{ clientId: string; name: string; port: number }];
  log: [{ level: 'info' | 'warn' | 'debug'; message: string }];
}

export interface TunnelInfo {
  name: string;
  port: number;
  protocol: 'tcp' | 'udp';
  clientId: string;
  clientName: string | undefined;
  online: boolean;
  connections: number;
  activeVisitors: number;
  bytesIn: number;
  bytesOut: number;
  createdAt: string;
}

/**
 * The reverse-proxy host: one control port for clients (TLS by default), a session per client,
 * public listeners per tunnel, and a grace period that keeps a lost client's ports for it.
 */
export class ReverseProxyHost extends EventEmitter<HostEvents> {
  readonly options: ResolvedHostOptions;
  readonly policy: PortPolicy;
  readonly hostId = randomBytes(8).toString('hex');
  // Half-open so a visitor's FIN travels through the tunnel while replies still flow back.
  private readonly server = net.createServer({ noDelay: true, allowHalfOpen: true });
  private readonly sessions = new Map<string, ClientSession>();
  private readonly byClient = new Map<string, ClientSession>();
  private readonly reserved = new Map<string, Map<number, HostedTunnel>>();
  private readonly pending = new Set<net.Socket>();
  private readonly tlsContext: tls.SecureContext | undefined;
  private readonly registry: RegistryOptions;
  private readonly sessionCtx: SessionContext;
  port = 0;
  readonly services = new ServiceRegistry();
  private visitIds = 0;
  private readonly userSaltSecret = randomBytes(32);
  private readonly frp: FrpHost | undefined;

  constructor(options: HostOptions & { token: string; keyPem?: string; certPem?: string }) {
    super();
    this.options = resolveHostOptions(options);
    this.policy = new PortPolicy(this.options.allowPorts);
    this.tlsContext = this.options.tls ? tls.createSecureContext({ key: options.keyPem, cert: options.certPem }) : undefined;
    this.registry = { policy: this.policy, bind: this.options.bind, maxTunnelsPerClient: this.options.maxTunnelsPerClient, offerTimeoutMs: 10_000, maxOffers: 20, udpIdleMs: this.options.udpIdleMs };
    this.sessionCtx = {
      heartbeatMs: this.options.heartbeatMs,
      dataWaitMs: 10_000,
      maxWaitingVisitors: 4096,
      register: (s, req) => this.register(s, req),
      closeTunnel: (s, id) => this.closeTunnel(s, id),
      sessionClosed: (s, reason) => this.sessionClosed(s, reason),
      registerService: (s, id, description) => this.services.register(s, id, description),
      listServices: (s) => {
        if (this.options.users && !s.user) throw new P2prcError('E_AUTH', 'this host requires a user account (--user) to list services');
        return this.services.list();
      },
      log: (level, message) => this.log(level, message),
    };
    this.server.on('connection', (socket) => void this.onConnection(socket));
    this.frp = this.options.frpCompat
      ? new FrpHost({
        token: this.options.token, bind: this.options.bind, policy: this.policy, maxTunnelsPerClient: this.options.maxTunnelsPerClient,
        maxClients: this.options.maxClients, heartbeatTimeoutMs: Math.max(90_000, 3 * this.options.heartbeatMs),
        takeReserved: (o, p) => this.takeReserved(o, p), reserve: (o, t, l) => this.reserve(o, t, l), releaseTunnel: (t) => this.releaseTunnel(t),
        log: (level, message) => this.log(level, message),
        opened: (t) => this.emit('tunnel', { clientId: t.clientId, name: t.name, port: t.port, engine: 'frp-wire' }),
      })
      : undefined;
  }

  async listen(): Promise<number> {
    this.port = await listenTcp(this.server, this.options.controlPort, this.options.bind);
    return this.port;
  }

  private log(level: 'info' | 'warn' | 'debug', message: string): void {
    this.emit('log', { level, message });
  }

  private async onConnection(raw: net.Socket): Promise<void> {
    const remote = `${raw.remoteAddress}:${raw.remotePort}`;
    if (this.pending.size >= this.options.maxPendingHandshakes) {
      this.log('warn', `dropping ${remote}: too many handshakes in progress`);
      raw.destroy();
      return;
    }
    this.pending.add(raw);
    raw.once('close', () => this.pending.delete(raw));
    raw.on('error', () => raw.destroy());
    const deadline = setTimeout(() => {
      this.log('warn', `dropping ${remote}: handshake not completed within ${this.options.handshakeTimeoutMs} ms`);
      raw.destroy();
    }, this.options.handshakeTimeoutMs);
    try {
      const first = await peekFirstChunk(raw, this.options.handshakeTimeoutMs);
      const kind = classifyFirstByte(first[0]!);
      if (kind === 'frp' && this.frp) {
        clearTimeout(deadline);
        this.pending.delete(raw);
        tuneSocket(raw);
        raw.resume();
        return this.frp.accept(raw, first[0]!);
      }
      if (kind === 'frp-tls' && this.frp && this.tlsContext) {
        // frpc's tls_enable: one 0x17 byte in clear, then TLS; inside it, the usual frp first bytes.
        raw.read(1);
        const inner = wrapServerTls(raw, this.tlsContext);
        const innerFirst = await peekFirstChunk(inner, this.options.handshakeTimeoutMs);
        clearTimeout(deadline);
        this.pending.delete(raw);
        inner.resume();
        return this.frp.accept(inner, innerFirst[0]!);
      }
      let socket: net.Socket = raw;
      if (kind === 'tls' && this.tlsContext) socket = wrapServerTls(raw, this.tlsContext);
      else if (kind === 'p2prc' && this.tlsContext) throw new P2prcError('E_TLS', 'plaintext connection to a TLS-only host');
      else if (kind !== 'p2prc') throw new P2prcError('E_PROTOCOL', `unrecognized protocol (first byte 0x${first[0]!.toString(16)})`);
      else tuneSocket(raw);
      const channel = new FrameChannel(socket, { expectPreamble: true, maxFrameSize: this.options.maxFrameSize, rawAfter: isDataHello });
      const hello = await channel.next(this.options.handshakeTimeoutMs);
      if (hello.type !== 'Hello') throw new P2prcError('E_PROTOCOL', `expected Hello, got ${hello.type}`);
      if (hello.body.role === 'data') this.acceptData(channel, hello.body);
      else if (hello.body.role === 'visit') this.acceptVisit(channel, hello.body, remote);
      else await this.acceptControl(channel, hello.body, remote);
    } catch (err) {
      const e = toP2prcError(err, 'E_PROTOCOL');
      this.log(e.code === 'E_AUTH' ? 'warn' : 'debug', `connection from ${remote} closed: ${e.code} ${e.message}`);
      raw.destroy();
    } finally {
      clearTimeout(deadline);
      this.pending.delete(raw);
    }
  }

  private acceptData(channel: FrameChannel, hello: Extract<Messages['Hello'], { role: 'data' }>): void {
    const session = this.sessions.get(hello.sessionId);
    // A session that just ended still has data connections in flight: not an attack, just late.
    if (!session) throw new P2prcError('E_CLOSED', 'data connection for a session that has ended');
    if (!verifyDataHello(session.key, hello) || !session.acceptsSeq(hello.seq)) {
      throw new P2prcError('E_AUTH', 'data connection with a bad or replayed proof');
    }
    channel.detach();
    session.addDataConnection(channel.socket);
  }

  /** A visitor's connection to a private service: authenticated like a data connection of its own session. */
  private acceptVisit(channel: FrameChannel, hello: Extract<Messages['Hello'], { role: 'visit' }>, remote: string): void {
    const session = this.sessions.get(hello.sessionId);
    if (!session || !verifyDataHello(session.key, hello) || !session.acceptsSeq(hello.seq)) {
      throw new P2prcError('E_AUTH', 'service visit with an unknown session or a bad proof');
    }
    const socket = channel.socket;
    channel.detach();
    try {
      if (this.options.users && !session.user) throw new P2prcError('E_AUTH', 'this host requires a user account (--user) to visit services');
      this.services.visit(hello.serviceId, socket, ++this.visitIds);
      this.log('info', `visitor ${remote} connected to service ${hello.serviceId}`);
    } catch (err) {
      const e = toP2prcError(err);
      socket.end(encodeMessage('Error', { code: e.code, message: e.message }));
      this.log('info', `visit from ${remote} refused: ${e.message}`);
    }
  }

  private async acceptControl(channel: FrameChannel, hello: Extract<Messages['Hello'], { role: 'control' }>, remote: string): Promise<void> {
    if (this.sessions.size >= this.options.maxClients && !this.byClient.has(hello.clientId)) {
      channel.send('Error', { code: 'E_QUOTA', message: `host is full (${this.options.maxClients} clients)` });
      throw new P2prcError('E_QUOTA', 'too many clients');
    }
    const users = this.options.users ? { list: this.options.users, secret: this.userSaltSecret } : undefined;
    const auth = await authenticateControl(channel, hello, this.options.token, this.hostId, this.options.handshakeTimeoutMs, users);
    // A client that reconnects before we noticed its old connection died replaces it.
    this.byClient.get(auth.clientId)?.close(new P2prcError('E_CLOSED', 'replaced by a new connection from the same client'));
    const sessionId = randomBytes(16).toString('hex');
    const session = new ClientSession(sessionId, auth.clientId, auth.name, remote, auth.key, channel, this.sessionCtx);
    session.user = auth.user;
    this.sessions.set(sessionId, session);
    this.byClient.set(auth.clientId, session);
    channel.send('AuthOk', {
      sessionId,
      mac: hostAuthProof(this.options.token, auth),
      heartbeatMs: this.options.heartbeatMs,
      publicHost: this.options.publicHost ?? '',
      graceMs: this.options.graceMs,
    });
    this.log('info', `client ${auth.name} connected from ${remote}`);
    this.emit('client', { clientId: auth.clientId, name: auth.name, remote });
  }

  private async register(session: ClientSession, req: Messages['Register']): Promise<HostedTunnel> {
    const tunnel = await negotiateTunnel(this.registry, session, req, (port) => this.takeReserved(session.clientId, port));
    if (!this.sessions.has(session.sessionId)) {
      tunnel.close();
      this.policy.release(tunnel.port, session.clientId);
      throw new P2prcError('E_CLOSED', 'session closed during registration');
    }
    tunnel.sink = session;
    session.tunnels.set(req.tunnelId, tunnel);
    this.log('info', `tunnel ${req.name} of ${session.name} published on port ${tunnel.port}`);
    this.emit('tunnel', { clientId: session.clientId, name: req.name, port: tunnel.port });
    return tunnel;
  }

  takeReserved(clientId: string, port: number): HostedTunnel | undefined {
    const mine = this.reserved.get(clientId);
    const tunnel = mine?.get(port);
    if (!tunnel) return undefined;
    mine!.delete(port);
    if (mine!.size === 0) this.reserved.delete(clientId);
    clearTimeout(tunnel.graceTimer);
    return tunnel;
  }

  private closeTunnel(session: ClientSession, tunnelId: string): void {
    const tunnel = session.tunnels.get(tunnelId);
    if (!tunnel) return;
    session.tunnels.delete(tunnelId);
    this.releaseTunnel(tunnel);
  }

  releaseTunnel(tunnel: HostedTunnel): void {
    tunnel.close();
    this.policy.release(tunnel.port, tunnel.clientId);
    this.emit('tunnel-closed', { clientId: tunnel.clientId, name: tunnel.name, port: tunnel.port });
  }

  private sessionClosed(session: ClientSession, reason: P2prcError | undefined): void {
    this.sessions.delete(session.sessionId);
    this.services.ownerClosed(session);
    if (this.byClient.get(session.clientId) === session) this.byClient.delete(session.clientId);
    this.log('info', `client ${session.name} disconnected${reason ? `: ${reason.message}` : ''}; its ports are held for ${this.options.graceMs} ms`);
    this.emit('client-closed', { clientId: session.clientId, name: session.name, reason: reason?.message });
    for (const tunnel of session.tunnels.values()) this.reserve(session.clientId, tunnel, session.name);
    session.tunnels.clear();
  }

  /** Keeps a lost client's public port bound and reserved for it until the grace period ends. */
  reserve(clientId: string, tunnel: HostedTunnel, label: string): void {
    tunnel.sink = undefined;
    let mine = this.reserved.get(clientId);
    if (!mine) this.reserved.set(clientId, (mine = new Map()));
    const own = mine;
    own.set(tunnel.port, tunnel);
    tunnel.graceTimer = setTimeout(() => {
      if (own.get(tunnel.port) !== tunnel) return;
      own.delete(tunnel.port);
      if (own.size === 0) this.reserved.delete(clientId);
      this.log('info', `grace period over: port ${tunnel.port} of ${label} released`);
      this.releaseTunnel(tunnel);
    }, this.options.graceMs);
    tunnel.graceTimer.unref();
  }

  /** What a discovering client needs to judge this host: load and room, no secrets. */
  stats(): { clients: number; maxClients: number; freePorts: number } {
    const total = this.policy.ranges.reduce((n, r) => n + (r.end - r.start + 1), 0);
    let held = 0;
    for (const s of this.sessions.values()) held += s.tunnels.size;
    for (const m of this.reserved.values()) held += m.size;
    return { clients: this.sessions.size, maxClients: this.options.maxClients, freePorts: Math.max(0, total - held) };
  }

  clients(): Array<{ clientId: string; name: string; remote: string; tunnels: number; connectedAt: string }> {
    return [...this.sessions.values()].map((s) => ({ clientId: s.clientId, name: s.name, remote: s.remote, tunnels: s.tunnels.size, connectedAt: s.connectedAt.toISOString() }));
  }

  tunnels(): TunnelInfo[] {
    const out: TunnelInfo[] = [];
    const describe = (t: HostedTunnel, s: ClientSession | undefined): TunnelInfo => ({
      name: t.name, port: t.port, clientId: t.clientId, clientName: s?.name, online: !!s, connections: t.connections,
      activeVisitors: t.activeVisitors, protocol: t.protocol, bytesIn: t.bytesIn, bytesOut: t.bytesOut, createdAt: t.createdAt.toISOString(),
    });
    for (const s of this.sessions.values()) for (const t of s.tunnels.values()) out.push(describe(t, s));
    for (const m of this.reserved.values()) for (const t of m.values()) out.push(describe(t, undefined));
    return out;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of [...this.sessions.values()]) s.close(new P2prcError('E_CLOSED', 'host shutting down'));
    this.frp?.close();
    for (const m of this.reserved.values()) for (const t of m.values()) this.releaseTunnel(t);
    this.reserved.clear();
    for (const p of this.pending) p.destroy();
    await closed;
  }
}

function isDataHello(m: Message): boolean {
  return m.type === 'Hello' && m.body.role !== 'control';
}
