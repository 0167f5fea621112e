import net from 'node:net';
import type { Duplex } from 'node:stream';
import { relay } from '../transport/relay.js';
import { Opener } from '../services/e2e.js';
import {
  SIGNAL_MARKER,
  START_MARKER,
  TICKET_MARKER,
  grantTicket,
  ownerAccept,
  readFirst,
  secureRelay,
  type LinkKeys,
} from '../services/link.js';
import type { TicketStore } from '../services/resume.js';
import { signallingKey } from '../protocol/direct.js';
import { dataProof } from '../protocol/auth.js';
import type { Message } from '../protocol/messages.js';
import { FrameChannel } from '../transport/channel.js';
import { dial, type DialOptions } from '../transport/net.js';
import { MuxLinks } from './mux-link.js';
import { P2prcError } from '../errors.js';
import { debug, debugFailure } from '../log/debug.js';
import type { CountedVisit, TrafficCounter } from '../transport/traffic.js';
import { SocketStream } from '../mux/socket-stream.js';
import { duplexPair } from '../transport/pair.js';

export interface LocalTarget {
  host: string;
  port: number;
  /** A private service: visitors must pass the end-to-end secret check before anything reaches it. */
  service?: ServiceTarget;
  /** Counts this tunnel's visitors and bytes (from the data socket's own counters). */
  traffic?: TrafficCounter;
  /** Told when a visitor could not reach the local service, and when one could again (rate-limited warnings). */
  local?: { failed(err: Error): void; reached(): void };
}

export interface PoolSession {
  sessionId: string;
  key: Buffer;
  dial: Omit<DialOptions, 'signal'>;
  /** Where a tunnel's visitors go; undefined for a tunnel this side no longer has. */
  target(tunnelId: string): LocalTarget | undefined;
  onError(message: string): void;
  onServiceAuthFailed?(serviceId: string, visitorId: number): void;
  /** A visitor's handshake for a direct-path offer gave this signalling key. */
  onSignallingKey?(serviceId: string, keyId: string, key: Buffer): void;
}

/** A private service's secret, and the resumption tickets it handed out (kept across reconnects by its owner). */
export interface ServiceTarget {
  id: string;
  secret: string;
  tickets?: TicketStore;
}

const LOCAL_CONNECT_TIMEOUT_MS = 5_000;
const MAX_IN_FLIGHT = 256;

/**
 * How visitors reach this side: streams on a few multiplexed data connections (the host's first
 * choice), and pre-opened, authenticated raw data connections parked on the host for when no
 * multiplexed one is up. Either way a visitor is bound without a round trip to this side. A raw
 * connection is consumed by one visitor and replaced at once.
 */
export class DataPool {
  private seq = 0;
  private tlsSession: Buffer | undefined;
  private idle = 0;
  private opening = 0;
  private closed = false;
  private readonly parked = new Set<net.Socket>();
  private readonly mux: MuxLinks;

  constructor(
    private readonly session: PoolSession,
    private readonly size: number,
  ) {
    this.mux = new MuxLinks({
      sessionId: session.sessionId,
      dial: session.dial,
      onError: session.onError,
      proof: () => this.nextProof(true),
      bound: (stream, bind, rest) => this.relay(stream, rest, bind.tunnelId, bind.visitorId),
    });
  }

  /** Parked raw data connections waiting for a visitor. */
  get idleCount(): number {
    return this.idle;
  }

  /** A fresh data-connection proof for another connection of this session (service visits use it). */
  nextProof(mux = false): { seq: number; mac: string } {
    const seq = ++this.seq;
    return { seq, mac: dataProof(this.session.key, this.session.sessionId, seq, mux) };
  }

  /**
   * Opens the multiplexed connection. Raw connections are opened when the host asks (it does when a
   * visitor finds no multiplexed connection up): parked in advance they cost every idle client
   * descriptors and memory on the host, and the host prefers streams anyway.
   */
  start(): void {
    this.mux.start();
  }

  /** The host ran dry and asked for more. */
  request(count: number): void {
    this.fill(Math.min(count, MAX_IN_FLIGHT - this.opening));
  }

  private fill(count: number): void {
    for (let i = 0; i < count && !this.closed && this.opening < MAX_IN_FLIGHT; i++) void this.openOne();
  }

  private async openOne(): Promise<void> {
    this.opening++;
    let channel: FrameChannel | undefined;
    try {
      const { socket, tlsSocket } = await dial({ ...this.session.dial, session: this.tlsSession });
      // Resume TLS on the next data connection: skips the certificate exchange on every replacement.
      tlsSocket?.once('session', (s: Buffer) => (this.tlsSession = s));
      if (this.closed) {
        socket.destroy();
        return;
      }
      channel = new FrameChannel(socket, { rawAfter: (m: Message) => m.type === 'Bind' });
      this.parked.add(socket);
      channel.sendPreamble();
      channel.send('Hello', { role: 'data', sessionId: this.session.sessionId, ...this.nextProof() });
    } catch (err) {
      if (!this.closed) this.session.onError(`data connection failed: ${(err as Error).message}`);
      else debugFailure('data connection failed after the pool closed', err, 'E_UNREACHABLE');
      return;
    } finally {
      this.opening--;
    }
    this.idle++;
    let bind: Message | undefined;
    try {
      bind = await channel.next(0);
    } catch (err) {
      // Closed while parked (host gone or pool closed); the session decides about reconnecting.
      debugFailure('parked data connection closed', err, 'E_CLOSED', { sessionId: this.session.sessionId });
    }
    this.idle--;
    this.parked.delete(channel.socket);
    if (!bind) return;
    if (!this.closed) this.fill(Math.max(1, this.size - this.idle - this.opening));
    if (bind.type !== 'Bind') {
      debug('E_PROTOCOL', `expected Bind on a parked data connection, got ${bind.type}`);
      channel.close();
      return;
    }
    const head = channel.detach();
    this.relay(channel.socket, head, bind.body.tunnelId, bind.body.visitorId);
  }

  /** A visitor's bytes (`head` first, then `data`) to its local target, raw or through the service check. */
  private relay(data: Duplex | SocketStream, head: Buffer, tunnelId: string, visitorId: number): void {
    const target = this.session.target(tunnelId);
    if (!target) {
      debug('E_NOT_FOUND', 'bind for a tunnel this side no longer has', { tunnelId, visitorId });
      data.destroy();
      return;
    }
    // Counted when the stream (or raw connection) is accepted; bytes come from the local socket below.
    const visit = target.traffic?.visitor(data);
    if (target.service) {
      let duplex: Duplex;
      if (data instanceof SocketStream) {
        // The service check reads and writes a Duplex: an in-memory pair gives it one.
        const [near, far] = duplexPair();
        data.attach(near, head);
        duplex = far;
      } else {
        if (head.length > 0) data.unshift(head);
        duplex = data;
      }
      return void this.relayService(duplex, target, target.service, visitorId, visit);
    }
    this.connectLocal(target, data, (local) => {
      visit?.local(local);
      if (data instanceof SocketStream) return data.attach(local, head);
      if (head.length > 0) local.write(head);
      relay(data, local);
    });
  }

  private async relayService(
    data: Duplex,
    target: LocalTarget,
    svc: ServiceTarget,
    visitorId: number,
    visit: CountedVisit | undefined,
  ): Promise<void> {
    const service = await this.checkVisitor(data, svc, visitorId);
    if (!service) return;
    this.connectLocal(target, data, (local) => {
      visit?.local(local);
      secureRelay(data, local, service.keys, { opener: service.opener, toLocal: service.rest }, (e) =>
        debug(e.code, `service ${svc.id}: relay of visitor ${visitorId} ended: ${e.message}`),
      );
    });
  }

  /** Connects to the local service, bounded in time; on failure the visitor's side is closed at once. */
  private connectLocal(target: LocalTarget, data: { destroy(): void }, connected: (local: net.Socket) => void): void {
    const local = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const timer = setTimeout(
      () => local.destroy(new P2prcError('E_TIMEOUT', 'local connect timeout')),
      LOCAL_CONNECT_TIMEOUT_MS,
    );
    const failed = (err: Error): void => {
      clearTimeout(timer);
      local.off('connect', onConnect);
      if (target.local) target.local.failed(err);
      else this.session.onError(`local service ${target.host}:${target.port} unreachable: ${err.message}`);
      local.destroy();
      data.destroy();
    };
    const onConnect = (): void => {
      clearTimeout(timer);
      local.off('error', failed);
      // No keepalive probes on the service's side: it is local (or on the LAN), and the visitor's side
      // ends it. setKeepAlive cost 4 setsockopt calls per visitor (strace), a fifth of its syscalls here.
      local.setNoDelay(true);
      target.local?.reached();
      connected(local);
    };
    local.once('connect', onConnect);
    local.once('error', failed);
  }

  /** Owner side of a service visit: secret check, then the visitor's start marker, before any local connect. */
  private async checkVisitor(
    data: Duplex,
    svc: ServiceTarget,
    visitorId: number,
  ): Promise<{ keys: LinkKeys; opener: Opener; rest: Buffer[] } | undefined> {
    let keys: LinkKeys | undefined;
    try {
      const accepted = await ownerAccept(data, svc.secret, svc.id, svc.tickets);
      if (!accepted.keys) {
        // A resumption that failed was no guess at the secret: the visitor runs a full handshake next.
        if (accepted.guessed) this.session.onServiceAuthFailed?.(svc.id, visitorId);
        else debug('E_AUTH', `service ${svc.id}: visitor ${visitorId} resumed with an unknown ticket`);
        data.destroy();
        return undefined;
      }
      keys = accepted.keys;
      const opener = new Opener(keys.receive);
      const [first, ...more] = await readFirst(data, opener, 'start marker');
      const marker = first![0];
      if (marker === SIGNAL_MARKER) {
        // A handshake for a direct-path offer: keep its signalling key, connect nothing.
        const { keyId, key } = signallingKey(keys.receive);
        this.session.onSignallingKey?.(svc.id, keyId, key);
        data.destroy();
        return undefined;
      }
      if (marker === TICKET_MARKER && keys.resume && svc.tickets) {
        grantTicket(data, keys, svc.tickets);
        return undefined;
      }
      if (marker !== START_MARKER) throw new P2prcError('E_PROTOCOL', 'bad start marker');
      return { keys, opener, rest: [first!.subarray(1), ...more] };
    } catch (err) {
      // One visitor failed its handshake (timeout, closed, bad marker): drop it, keep serving others.
      // Before the keys it may have learned its guess was wrong and then stalled: that counts too.
      if (!keys) this.session.onServiceAuthFailed?.(svc.id, visitorId);
      debugFailure(`service ${svc.id}: visitor ${visitorId} handshake failed`, err, 'E_PROTOCOL');
      data.destroy();
      return undefined;
    }
  }

  close(): void {
    this.closed = true;
    // Visitors on streams end with their multiplexed connection, as frp's do with its session;
    // of the raw connections only parked ones are dropped, visitors relayed on them keep them.
    this.mux.close();
    for (const s of this.parked) s.destroy();
    this.parked.clear();
  }
}
