import { addressOf, formatAddress } from '../protocol/address.js';
import net from 'node:net';
import type tls from 'node:tls';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { P2prcError, escapeControl, toP2prcError, type ErrorCode } from '../errors.js';
import type { ComponentLevel, LogFields, LogFn } from '../log/logger.js';
import { FrpWireServer } from '../frp-wire/server/frp-server.js';
import { listenTcp, serverTlsContext, wrapServerTls } from '../transport/net.js';
import { adoptHeldListener } from '../transport/held-listener.js';
import { peekByte } from '../transport/read.js';
import { VhostServer } from '../vhost/vhost-server.js';
import { HttpsVhostServer } from '../vhost/https-server.js';
import { Admission, defaultAdmissionLimits, strangerGate } from './admission.js';
import { NativeEngine } from './engine.js';
import { hostFrpPorts } from './frp-ports.js';
import { classifyFirstByte, isFrpFirstByte } from './handshake.js';
import { resolveHostOptions, type HostOptions, type ResolvedHostOptions } from './options.js';
import { PortPolicy } from './ports.js';
import { PrincipalQuota, type RegistryOptions } from './register.js';
import { Reservations } from './reservations.js';
import { ServiceRegistry } from '../services/registry.js';
import { startStun, type StunResponder } from '../direct/stun-responder.js';
import type { ClientInfo, TunnelInfo } from './info.js';
import type { HostedTunnel } from './tunnel.js';

/** How long a fresh connection may stay silent: far below the handshake deadline, as nothing precedes the first byte. */
const FIRST_BYTE_TIMEOUT_MS = 2_000;

export interface HostEvents {
  client: [{ clientId: string; name: string; remote: string }];
  'client-closed': [{ clientId: string; name: string; reason: string | undefined }];
  tunnel: [{ clientId: string; name: string; port: number; engine?: 'frp-wire' }];
  'tunnel-closed': [{ clientId: string; name: string; port: number }];
  log: [HostLog];
  /** A connection, login, tunnel or visit turned away; always with the peer's address and the code. */
  refused: [HostRefusal];
}

/** A log line; `event` and `fields` name what happened for structured (--log-format json) logs. */
export interface HostLog {
  level: ComponentLevel;
  message: string;
  event?: string;
  fields?: LogFields;
}

export interface HostRefusal {
  stage: 'login' | 'tunnel' | 'visit';
  code: ErrorCode;
  remote: string;
  client?: string;
  message: string;
}

export type { ClientInfo, TunnelInfo } from './info.js';

/**
 * The reverse-proxy host: one control port for clients (TLS by default), a session per client,
 * public listeners per tunnel, and a grace period that keeps a lost client's ports for it. Stock
 * frpc clients are served on the same port by the frp-wire server, under the same port policy.
 */
export class ReverseProxyHost extends EventEmitter<HostEvents> {
  readonly options: ResolvedHostOptions;
  readonly policy: PortPolicy;
  readonly hostId = randomBytes(8).toString('hex');
  readonly services: ServiceRegistry;
  port = 0;
  /** The STUN responder's UDP port (direct paths); 0 when there is none. */
  stunPort = 0;
  private stun: StunResponder | undefined;
  // Half-open so a visitor's FIN travels through the tunnel while replies still flow back.
  private server = net.createServer({ noDelay: true, allowHalfOpen: true });
  /** The token-less frp port (P2PRC's /FRPPort), when the host is open. */
  private openServer: net.Server | undefined;
  openFrpPort: number | undefined;
  private readonly pending = new Set<net.Socket>();
  private readonly admission: Admission;
  private readonly reservations: Reservations;
  private readonly native: NativeEngine;
  private readonly frp: FrpWireServer<HostedTunnel> | undefined;
  private readonly tlsContext: tls.SecureContext | undefined;
  /** The HTTP virtual-host listener (--vhost-http-port), shared by frp http proxies and native http tunnels. */
  readonly vhost: VhostServer | undefined;
  /** The HTTPS virtual-host listener (--vhost-https-port): TLS routed by server name, for frp https proxies and native https tunnels. */
  readonly httpsVhost: HttpsVhostServer | undefined;

  constructor(options: HostOptions & { token: string; keyPem?: string; certPem?: string }) {
    super();
    const o = (this.options = resolveHostOptions(options));
    this.policy = new PortPolicy(o.allowPorts);
    this.admission = new Admission(defaultAdmissionLimits(o.maxPendingHandshakes, o.maxPendingPerSource));
    const context = (this.tlsContext = o.tls ? serverTlsContext(options.keyPem, options.certPem) : undefined);
    const registry: RegistryOptions = {
      policy: this.policy,
      bind: o.bind,
      maxTunnelsPerClient: o.maxTunnelsPerClient,
      quota: new PrincipalQuota(o.maxTunnelsPerPrincipal, () => this.reservations.tunnels()),
      offerTimeoutMs: 10_000,
      maxOffers: 20,
      udpIdleMs: o.udpIdleMs,
      udpMaxVisitors: o.udpMaxVisitors,
    };
    this.reservations = new Reservations({
      policy: this.policy,
      graceMs: o.graceMs,
      log: this.log,
      released: (t) => this.emit('tunnel-closed', { clientId: t.clientId, name: t.name, port: t.port }),
    });
    // Visitors still sending a request head or a ClientHello get the control port's limits on handshakes
    // in progress, counted apart: visitors are not clients.
    const visitorGate = () => strangerGate(defaultAdmissionLimits(o.maxPendingHandshakes, o.maxPendingPerSource));
    const vhost = (this.vhost = o.vhostHttpPort !== undefined ? new VhostServer(this.log, visitorGate()) : undefined);
    const httpsVhost = (this.httpsVhost =
      o.vhostHttpsPort !== undefined
        ? new HttpsVhostServer({
            handshakeTimeoutMs: o.handshakeTimeoutMs,
            log: this.log,
            admit: visitorGate(),
          })
        : undefined);
    this.services = new ServiceRegistry({ guesses: o.serviceGuesses }, () => Date.now(), this.log);
    this.native = new NativeEngine({
      options: o,
      hostId: this.hostId,
      tls: context,
      registry,
      reservations: this.reservations,
      services: this.services,
      log: this.log,
      vhost,
      httpsVhost,
      stunPort: () => this.stunPort,
      events: {
        client: (e) => this.emit('client', e),
        clientClosed: (e) => this.emit('client-closed', e),
        tunnel: (e) => this.emit('tunnel', e),
        refused: (r) => this.refuse(r),
      },
    });
    this.frp = o.frpCompat
      ? new FrpWireServer({
          token: o.token,
          maxClients: o.maxClients,
          heartbeatTimeoutMs: Math.max(90_000, 3 * o.heartbeatMs),
          tls: context,
          handshakeTimeoutMs: o.handshakeTimeoutMs,
          log: this.log,
          vhost: vhost && {
            get port() {
              return vhost.port;
            },
            subdomainHost: o.subdomainHost,
            register: (d, l, r, p) => vhost.register(d, l, r, p),
          },
          httpsVhost: httpsVhost && {
            get port() {
              return httpsVhost.port;
            },
            subdomainHost: o.subdomainHost,
            register: (d, r, p) => httpsVhost.register(d, r, p),
          },
          ports: hostFrpPorts({
            registry,
            reservations: this.reservations,
            opened: (t) =>
              this.emit('tunnel', { clientId: t.clientId, name: t.name, port: t.port, engine: 'frp-wire' }),
          }),
          events: {
            refused: (r) => this.refuse(r),
            login: (c) =>
              this.emit('client', { clientId: `frp:${c.runId}`, name: `frpc ${c.runId}`, remote: c.remote }),
            logout: (c) =>
              this.emit('client-closed', { clientId: `frp:${c.runId}`, name: `frpc ${c.runId}`, reason: undefined }),
          },
        })
      : undefined;
  }

  async listen(): Promise<number> {
    // A listener the launcher bound at process start (socket activation) is taken over with its backlog.
    const held = this.options.controlPort
      ? await adoptHeldListener(this.options.controlPort, this.options.bind)
      : undefined;
    if (held) this.server = held.server;
    this.port = held
      ? this.options.controlPort
      : await listenTcp(this.server, this.options.controlPort, this.options.bind, {
          name: 'control port',
          flag: '--control-port',
        });
    this.server.on('connection', (socket) => void this.onConnection(socket));
    for (const socket of held?.queued ?? []) void this.onConnection(socket);
    const stun = await startStun(this.options.stunPort, this.port, this.options.bind, (m) => this.log('warn', m)).catch(
      (err: unknown) => {
        this.server.close();
        throw err;
      },
    );
    [this.stun, this.stunPort] = [stun?.responder, stun?.port ?? 0];
    if (this.options.openFrpPort !== undefined && this.frp) {
      const open = net.createServer({ noDelay: true, allowHalfOpen: true });
      open.on('connection', (socket) => void this.onConnection(socket, true));
      try {
        this.openFrpPort = await listenTcp(open, this.options.openFrpPort, this.options.bind, {
          name: 'token-less frp port',
        });
      } catch (err) {
        this.server.close();
        await this.stun?.close();
        throw err;
      }
      this.openServer = open;
    }
    try {
      await this.vhost?.listen(this.options.vhostHttpPort!, this.options.bind);
      await this.httpsVhost?.listen(this.options.vhostHttpsPort!, this.options.bind);
    } catch (err) {
      this.server.close();
      this.openServer?.close();
      await Promise.all([this.vhost?.close(), this.stun?.close()]);
      throw err;
    }
    return this.port;
  }

  private readonly log: LogFn = (level, message, event, fields) => {
    this.emit('log', { level, message: escapeControl(message), ...(event ? { event, fields } : {}) }); // wire strings stay on one line
  };

  /** Every refusal is logged with its code and the peer, and emitted for the admin views. */
  private refuse(r: HostRefusal): void {
    const who = r.client ? `${r.client} (${r.remote})` : r.remote;
    const quiet = r.code === 'E_PROTOCOL' || r.code === 'E_TIMEOUT';
    const fields = { stage: r.stage, code: r.code, peer: r.remote, client: r.client };
    this.log(quiet ? 'info' : 'warn', `${r.stage} from ${who} refused: ${r.code} ${r.message}`, 'refused', fields);
    this.emit('refused', r);
  }

  /**
   * The front door: the first byte says frp or p2prc; the handshake is bounded in number and in time.
   * `open`: the token-less frp port, where only frp is spoken, under the same limits.
   */
  private async onConnection(raw: net.Socket, open = false): Promise<void> {
    const remote = formatAddress(raw.remoteAddress ?? '?', raw.remotePort ?? 0);
    const { handshakeTimeoutMs } = this.options;
    const ticket = this.admission.admit(raw.remoteAddress ?? '', (address) => this.hasClientAt(address));
    if (typeof ticket === 'string') {
      this.refuse({ stage: 'login', code: 'E_QUOTA', remote, message: ticket });
      raw.destroy();
      return;
    }
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.admission.release(ticket);
      this.pending.delete(raw);
    };
    this.pending.add(raw);
    raw.once('close', settle);
    raw.on('error', () => raw.destroy());
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      this.refuse({
        stage: 'login',
        code: 'E_TIMEOUT',
        remote,
        message: `handshake not completed within ${handshakeTimeoutMs} ms`,
      });
      raw.destroy();
    }, handshakeTimeoutMs);
    try {
      // Before TLS there is nothing to wait for: a client's first byte follows its connect at once.
      const first = await peekByte(raw, Math.min(handshakeTimeoutMs, FIRST_BYTE_TIMEOUT_MS));
      if (classifyFirstByte(first) === 'tls' && this.tlsContext) await this.acceptTls(raw, open, remote);
      else if (isFrpFirstByte(first) && this.frp) await this.frp.accept(raw, first, open, remote);
      else if (open) throw new P2prcError('E_PROTOCOL', 'only frp clients are served on the open port');
      else await this.native.accept(raw, first, remote);
    } catch (err) {
      const e = toP2prcError(err, 'E_PROTOCOL');
      // E_CLOSED: the peer went away, or a late data connection of an ended session; no refusal.
      if (e.code === 'E_CLOSED' || timedOut)
        this.log('debug', `connection from ${remote} closed: ${e.code} ${e.message}`);
      else this.refuse({ stage: 'login', code: e.code, remote, message: e.message });
      raw.destroy();
    } finally {
      clearTimeout(deadline);
      settle();
    }
  }

  /**
   * A bare TLS ClientHello: p2prc's own clients, and frpc 0.50+ (TLS on, no 0x17 head byte by
   * default), as frps takes it. What comes first inside TLS says which: p2prc's preamble or frp's.
   */
  private async acceptTls(raw: net.Socket, open: boolean, remote: string): Promise<void> {
    const secured = wrapServerTls(raw, this.tlsContext!);
    const inner = await peekByte(secured, this.options.handshakeTimeoutMs);
    const kind = classifyFirstByte(inner);
    if (kind !== 'p2prc' && isFrpFirstByte(inner) && this.frp)
      return this.frp.accept(raw, inner, open, remote, secured);
    if (open) throw new P2prcError('E_PROTOCOL', 'only frp clients are served on the open port');
    if (kind !== 'p2prc')
      throw new P2prcError('E_PROTOCOL', `unrecognized protocol inside TLS (first byte 0x${inner.toString(16)})`);
    return this.native.accept(raw, 0x16, remote, secured);
  }

  /** Whether an authenticated client (native or frp) lives at this address: its connections skip the strangers' queue. */
  private hasClientAt(address: string): boolean {
    for (const s of this.native.sessions.values()) if (addressOf(s.remote) === address) return true;
    return this.frp?.hasClientAt(address) ?? false;
  }

  /** What a discovering client needs to judge this host: load and room, no secrets. */
  stats(): { clients: number; maxClients: number; freePorts: number } {
    const total = this.policy.ranges.reduce((n, r) => n + (r.end - r.start + 1), 0);
    let held = this.reservations.count;
    for (const s of this.native.sessions.values()) held += s.tunnels.size;
    return {
      clients: this.native.sessions.size,
      maxClients: this.options.maxClients,
      freePorts: Math.max(0, total - held),
    };
  }

  /** Gauges for the admin views: handshakes in flight, parked data connections, visitors that found none. */
  poolStats(): { pendingHandshakes: number; dataPoolSize: number; dataPoolMisses: number } {
    return { pendingHandshakes: this.pending.size, ...this.native.poolStats() };
  }

  /** Connected clients, p2prc and stock frpc, with the bytes of their live tunnels. */
  clients(): ClientInfo[] {
    const sum = (list: Iterable<HostedTunnel>) => {
      let bytesIn = 0;
      let bytesOut = 0;
      for (const t of list) {
        bytesIn += t.bytesIn;
        bytesOut += t.bytesOut;
      }
      return { bytesIn, bytesOut };
    };
    const native = [...this.native.sessions.values()].map((s) => ({
      clientId: s.clientId,
      name: s.name,
      remote: s.remote,
      tunnels: s.tunnels.size,
      connectedAt: s.connectedAt.toISOString(),
      ...sum(s.tunnels.values()),
    }));
    const frp = (this.frp?.clients() ?? []).map((c) => ({
      clientId: `frp:${c.runId}`,
      name: `frpc ${c.runId}`,
      remote: c.remote,
      tunnels: c.liveTunnels().length,
      connectedAt: c.since.toISOString(),
      ...sum(c.liveTunnels()),
    }));
    return [...native, ...frp];
  }

  tunnels(): TunnelInfo[] {
    const describe = (t: HostedTunnel, owner: string | undefined): TunnelInfo => ({
      name: t.name,
      port: t.port,
      clientId: t.clientId,
      clientName: owner,
      online: !!owner,
      connections: t.connections,
      activeVisitors: t.activeVisitors,
      protocol: t.publicName ? (t.scheme ?? 'http') : t.protocol,
      domain: t.publicName || null,
      bytesIn: t.bytesIn,
      bytesOut: t.bytesOut,
      createdAt: t.createdAt.toISOString(),
      engine: /^frp[:-]/.test(t.tunnelId) ? 'frp-wire' : 'native',
    });
    const out: TunnelInfo[] = [];
    for (const s of this.native.sessions.values()) for (const t of s.tunnels.values()) out.push(describe(t, s.name));
    for (const c of this.frp?.clients() ?? [])
      for (const t of c.liveTunnels()) out.push(describe(t, `frpc ${c.runId}`));
    for (const t of this.reservations.tunnels()) out.push(describe(t, undefined));
    return out;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const openClosed = new Promise<void>((resolve) =>
      this.openServer ? this.openServer.close(() => resolve()) : resolve(),
    );
    this.native.close();
    this.frp?.close();
    this.reservations.close();
    const vhostsClosed = [this.vhost?.close(), this.httpsVhost?.close()];
    for (const p of this.pending) p.destroy();
    await Promise.all([closed, openClosed, ...vhostsClosed, this.stun?.close()]);
  }
}
