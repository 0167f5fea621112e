import net from 'node:net';
import type { Duplex } from 'node:stream';
import { YamuxSession } from '../mux/session.js';
import { SocketStream } from '../mux/socket-stream.js';
import { raiseHeapTrimThreshold } from '../transport/heap-trim.js';
import { relay } from '../transport/relay.js';
import { P2prcError, toP2prcError } from '../errors.js';
import {
  MUX_MAX_STREAMS,
  MUX_MAX_WINDOW,
  MUX_WINDOW,
  MUX_WINDOW_BUDGET,
  encodeMessage,
  type Message,
  type Messages,
} from '../protocol/messages.js';
import type { LogFn } from '../log/logger.js';
import type { FrameChannel } from '../transport/channel.js';
import { PairingPool, type PairingLimits, type VisitorSink, type VisitorStream } from '../transport/pairing-pool.js';
import type { HostedTunnel } from './tunnel.js';
import { UdpTunnel } from './udp-tunnel.js';

export interface SessionContext {
  heartbeatMs: number;
  /** How many visitors may wait for a data connection, and for how long. */
  pairing: PairingLimits;
  register(session: ClientSession, req: Messages['Register']): Promise<HostedTunnel>;
  closeTunnel(session: ClientSession, tunnelId: string): void;
  sessionClosed(session: ClientSession, reason: P2prcError | undefined): void;
  registerService(session: ClientSession, serviceId: string, description: string, ownerKey?: string): void;
  /** One page after `after`, or (for clients that do not page) the whole list. */
  listServices(session: ClientSession, after: string | undefined): Messages['ServiceList'];
  /** The owner reported a wrong secret from the visitor at `remote` (counted for the guessing backoff). */
  serviceGuessFailed(serviceId: string, remote: string): void;
  /** Direct-path signalling between a service's visitor and its owner (routed, never read). */
  signal(session: ClientSession, m: Extract<Message, { type: 'DirectOffer' | 'DirectAnswer' | 'DirectRefused' }>): void;
  log: LogFn;
}

/** A public tunnel, or a private service whose visitors' addresses stay hidden from its owner. */
export interface VisitTarget {
  tunnelId: string;
  port: number;
  hideRemote?: boolean;
}

type PortReply = (accepted: boolean) => void;

const MAX_UDP_BACKLOG = 4 * 1024 * 1024;
/** Hidden visitors remembered for their owner's failure report, which comes after the visitor hung up. */
const MAX_HIDDEN_REMOTES = 1024;

/**
 * One authenticated client on the host: its control channel, heartbeats, public tunnels, the
 * multiplexed data connections it keeps open and the pool of raw data connections it pre-opened.
 * A visitor becomes a stream on a multiplexed connection when there is one (no handshake to wait
 * for, one descriptor per visitor on the host), else it is bound to a pooled raw data connection.
 */
export class ClientSession implements VisitorSink {
  readonly tunnels = new Map<string, HostedTunnel>();
  /** Tunnel ids being negotiated (true: closed meanwhile), taken before the first await so two Registers cannot share one. */
  private readonly registering = new Map<string, boolean>();
  udpDropped = 0;
  /** Visitors that arrived when no data connection was parked (they waited, or were refused). */
  poolMisses = 0;
  private readonly pool: PairingPool<VisitTarget, VisitorStream, net.Socket>;
  private readonly muxes = new Set<YamuxSession>();
  private readonly portReplies = new Map<string, PortReply>();
  private readonly usedSeqs = new Set<number>();
  private seqFloor = 0;
  private visitorIds = 0;
  private readonly hiddenRemotes = new Map<number, { remote: string; tunnelId: string }>();
  private lastSeen = Date.now();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  readonly connectedAt = new Date();
  /** The account this client proved, when the host has a users file. */
  user: string | undefined;
  /** What its tunnels count against across sessions and client ids (engine.ts: principalOf). */
  principal = '';

  constructor(
    readonly sessionId: string,
    readonly clientId: string,
    readonly name: string,
    readonly remote: string,
    readonly key: Buffer,
    private readonly channel: FrameChannel,
    private readonly ctx: SessionContext,
  ) {
    this.pool = new PairingPool(ctx.pairing, {
      pair: (tunnel, visitor, data) => this.bind(tunnel, visitor, data),
      expired: (tunnel) =>
        ctx.log(
          'warn',
          `visitor on port ${tunnel.port} dropped: no data connection from ${name} within ${ctx.pairing.waitMs} ms`,
        ),
    });
    channel.onMessage((m) => this.onMessage(m));
    channel.on('close', (err) => this.close(err));
    this.heartbeat = setInterval(() => this.beat(), ctx.heartbeatMs);
    this.heartbeat.unref();
  }

  send<K extends keyof Messages>(type: K, body: Messages[K]): void {
    this.channel.send(type, body);
  }

  /** Offers a held port to the client; resolves true when the client confirms it is usable on its side too. */
  offerPort(tunnelId: string, port: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.portReplies.delete(tunnelId);
        reject(new P2prcError('E_TIMEOUT', `client did not answer the offer of port ${port}`));
      }, timeoutMs);
      this.portReplies.set(tunnelId, (accepted) => {
        clearTimeout(timer);
        this.portReplies.delete(tunnelId);
        resolve(accepted);
      });
      this.send('PortOffer', { tunnelId, port });
    });
  }

  /** A data connection that proved it belongs to this session (seq unused and above the floor). */
  acceptsSeq(seq: number): boolean {
    if (seq <= this.seqFloor || this.usedSeqs.has(seq)) return false;
    this.usedSeqs.add(seq);
    if (this.usedSeqs.size > 4096) {
      const sorted = [...this.usedSeqs].sort((a, b) => a - b).slice(0, 2048);
      for (const s of sorted) this.usedSeqs.delete(s);
      this.seqFloor = sorted[sorted.length - 1]!;
    }
    return true;
  }

  addDataConnection(socket: net.Socket): void {
    this.pool.addWork(socket);
  }

  /** A data connection that carries yamux streams; this side opens them, one per visitor. */
  addMuxConnection(socket: net.Socket, head: Buffer): void {
    if (this.closed) return void socket.destroy();
    if (head.length > 0) socket.unshift(head);
    const mux = new YamuxSession(socket, {
      client: true,
      accept: false,
      window: MUX_WINDOW,
      maxWindow: MUX_MAX_WINDOW,
      windowBudget: MUX_WINDOW_BUDGET,
      maxStreams: MUX_MAX_STREAMS,
      onBulk: raiseHeapTrimThreshold,
    });
    this.muxes.add(mux);
    mux.once('close', () => this.muxes.delete(mux));
    socket.resume(); // detached channels leave the socket paused
    // Visitors that queued while no connection was up go first.
    while (this.pool.takeWaiting((t, v) => this.bind(t, v, mux.openSocketStream())));
  }

  /** The multiplexed connection with the fewest streams that has room for one more. */
  private pickMux(): YamuxSession | undefined {
    let best: YamuxSession | undefined;
    for (const m of this.muxes)
      if (!m.isClosed && m.streamCount < MUX_MAX_STREAMS && (!best || m.streamCount < best.streamCount)) best = m;
    return best;
  }

  /** Parked raw data connections (multiplexed ones are not parked: they carry any number of visitors). */
  get idleCount(): number {
    return this.pool.idleCount;
  }

  acceptVisitor(tunnel: VisitTarget, visitor: VisitorStream): void {
    // Nagle off on a visitor's TCP connection; a vhost request comes as an in-memory pair, which has none.
    if (visitor instanceof net.Socket) visitor.setNoDelay(true);
    const mux = this.pickMux();
    if (mux) return this.bind(tunnel, visitor, mux.openSocketStream());
    const outcome = this.pool.addVisitor(tunnel, visitor);
    if (outcome === 'paired') return;
    this.poolMisses++;
    // The pool ran dry: ask for as many as are waiting, plus headroom for the next burst.
    if (outcome === 'waiting') this.send('ReqData', { count: this.pool.waitingCount + 4 });
  }

  /** UDP keeps datagram semantics under congestion: when the control stream is backed up, drop. */
  private register(req: Messages['Register']): void {
    const id = req.tunnelId;
    const failed = (e: P2prcError) =>
      this.send('RegisterFailed', {
        tunnelId: id,
        code: e.code,
        message: e.message,
        side: e.details.side === 'local' ? 'local' : 'host',
      });
    if (this.registering.has(id) || this.tunnels.has(id))
      return failed(new P2prcError('E_CONFLICT', `tunnel ${id} is already registered`));
    this.registering.set(id, false);
    this.ctx.register(this, req).then(
      (tunnel) => {
        const closed = this.registering.get(id);
        this.registering.delete(id);
        if (closed) return this.ctx.closeTunnel(this, id);
        this.send('Registered', { tunnelId: tunnel.tunnelId, port: tunnel.port, publicHost: tunnel.publicName ?? '' });
      },
      (err) => {
        this.registering.delete(id);
        failed(toP2prcError(err));
      },
    );
  }

  sendDatagram(tunnel: { tunnelId: string }, visitorId: number, data: Buffer): boolean {
    if (this.closed || this.channel.socket.writableLength > MAX_UDP_BACKLOG) return false;
    this.channel.send('UdpData', { tunnelId: tunnel.tunnelId, visitorId, data });
    return true;
  }

  private bind(tunnel: VisitTarget, visitor: VisitorStream, data: Duplex | SocketStream): void {
    const visitorId = ++this.visitorIds;
    const remote = `${visitor.remoteAddress ?? ''}:${visitor.remotePort ?? 0}`;
    if (tunnel.hideRemote) {
      // Kept (not past the visitor's close: a wrong guess hangs up before the owner reports it) so a
      // failed secret check is counted against the visitor's address; the oldest make room.
      this.hiddenRemotes.set(visitorId, { remote, tunnelId: tunnel.tunnelId });
      if (this.hiddenRemotes.size > MAX_HIDDEN_REMOTES)
        this.hiddenRemotes.delete(this.hiddenRemotes.keys().next().value!);
    }
    data.write(
      encodeMessage('Bind', { tunnelId: tunnel.tunnelId, visitorId, remote: tunnel.hideRemote ? '' : remote }),
    );
    if (data instanceof SocketStream) data.attach(visitor);
    else relay(visitor, data);
  }

  private onMessage(m: Message): void {
    this.lastSeen = Date.now();
    switch (m.type) {
      case 'Ping':
        this.send('Pong', { t: m.body.t });
        return;
      case 'Pong':
        return;
      case 'Register':
        this.register(m.body);
        return;
      case 'PortConfirm':
      case 'PortReject':
        this.portReplies.get(m.body.tunnelId)?.(m.type === 'PortConfirm');
        return;
      case 'UdpData': {
        const tunnel = this.tunnels.get(m.body.tunnelId);
        if (tunnel instanceof UdpTunnel) tunnel.toVisitor(m.body.visitorId, m.body.data);
        else this.udpDropped++;
        return;
      }
      case 'RegisterService':
        try {
          this.ctx.registerService(this, m.body.serviceId, m.body.description, m.body.ownerKey);
          this.send('ServiceRegistered', { serviceId: m.body.serviceId });
        } catch (err) {
          const e = toP2prcError(err);
          this.send('RegisterFailed', {
            tunnelId: `svc:${m.body.serviceId}`,
            code: e.code,
            message: e.message,
            side: 'host',
          });
        }
        return;
      case 'ListServices':
        try {
          this.send('ServiceList', this.ctx.listServices(this, m.body.after));
        } catch (err) {
          const e = toP2prcError(err);
          this.send('Error', { code: e.code, message: e.message });
          this.channel.socket.end(); // let the Error frame reach the client; its close ends the session
        }
        return;
      case 'ServiceAuthFailed': {
        // One report per visit, and only for a visit to that service of this owner.
        const hidden = this.hiddenRemotes.get(m.body.visitorId);
        if (hidden?.tunnelId !== `svc:${m.body.serviceId}`)
          return this.ctx.log('warn', `wrong secret for service ${m.body.serviceId} from an unknown visitor`);
        this.hiddenRemotes.delete(m.body.visitorId);
        this.ctx.serviceGuessFailed(m.body.serviceId, hidden.remote);
        return;
      }
      case 'CloseTunnel':
        if (this.registering.has(m.body.tunnelId)) this.registering.set(m.body.tunnelId, true);
        this.ctx.closeTunnel(this, m.body.tunnelId);
        return;
      case 'DirectOffer':
      case 'DirectAnswer':
      case 'DirectRefused':
        this.ctx.signal(this, m);
        return;
      default:
        this.close(new P2prcError('E_PROTOCOL', `unexpected ${m.type} on an established session`));
    }
  }

  private beat(): void {
    if (Date.now() - this.lastSeen > 2 * this.ctx.heartbeatMs) {
      this.close(new P2prcError('E_TIMEOUT', `no heartbeat from ${this.name} for ${2 * this.ctx.heartbeatMs} ms`));
      return;
    }
    this.send('Ping', { t: Date.now() });
  }

  close(reason?: P2prcError): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.channel.close(reason);
    this.pool.close();
    for (const m of this.muxes) m.close();
    for (const reply of this.portReplies.values()) reply(false);
    this.ctx.sessionClosed(this, reason);
  }
}
