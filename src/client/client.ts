import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { P2prcError, isP2prcError, toP2prcError, type ErrorCode } from '../errors.js';
import { backoffDelay } from '../protocol/backoff.js';
import { formatAddress, type PublishedTunnel } from '../protocol/address.js';
import { openControlSession, type ControlSession } from './control.js';
import { resolveConnectOptions, type ConnectOptions, type ResolvedConnectOptions, type TunnelSpec } from './options.js';
import type { LocalTarget } from './pool.js';
import { UdpRelay } from './udp.js';
import { LocalFailureWarnings } from '../protocol/local-warnings.js';
import { TrafficCounter } from '../transport/traffic.js';
import { DirectOwner } from '../direct/owner.js';
import { TicketStore } from '../services/resume.js';

// The CLI and services still name these by their old home.

export type ClientStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'connected'; sessionId: string; restored: boolean }
  | { state: 'reconnecting'; attempt: number; delayMs: number; error: P2prcError }
  | { state: 'closed'; error: P2prcError | undefined };

export interface ClientEvents {
  status: [ClientStatus];
  published: [PublishedTunnel[]];
  warning: [string];
}

/**
 * Failures that retrying cannot fix when they happen on the very first login (the host said no). A name
 * another owner holds (E_CONFLICT: a service ID, an HTTP domain) is refused like a taken port.
 */
const FATAL_ON_FIRST: ReadonlySet<ErrorCode> = new Set([
  'E_AUTH',
  'E_CONFLICT',
  'E_TLS',
  'E_VERSION',
  'E_PORT_DENIED',
  'E_PORT_TAKEN',
  'E_QUOTA',
  'E_USAGE',
  'E_NOT_AVAILABLE',
]);

interface TunnelState {
  spec: TunnelSpec;
  tunnelId: string;
  localHost: string;
  localPort: number | undefined;
  remotePort: number | undefined;
  /** What the host named it (an http tunnel's full domain), else ''. */
  publicName: string;
  traffic: TrafficCounter;
}

/** A published tunnel with its live counts, for the admin views. */
export interface TunnelTraffic extends PublishedTunnel {
  visitorsNow: number;
  visitorsTotal: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Publishes local services through a host and keeps them published: reconnects with capped,
 * jittered backoff and restores the same public ports after every loss.
 */
export class ReverseProxyClient extends EventEmitter<ClientEvents> {
  readonly options: ResolvedConnectOptions;
  readonly ready: Promise<PublishedTunnel[]>;
  fingerprint: string | undefined;
  private resolveReady!: (t: PublishedTunnel[]) => void;
  private rejectReady!: (e: P2prcError) => void;
  private readonly tunnels: TunnelState[];
  private session: ControlSession | undefined;
  private publicHost: string;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly udp = new UdpRelay((id) => this.target(id));
  private readonly localWarnings = new LocalFailureWarnings((m) => this.emit('warning', m));
  private connectedAt: Date | undefined;
  private readonly direct: DirectOwner;
  /** Each service's resumption tickets: they outlive a reconnect to the host, not the process. */
  private readonly tickets = new Map<string, TicketStore>();

  constructor(options: ConnectOptions) {
    super();
    this.options = resolveConnectOptions(options);
    this.fingerprint = this.options.fingerprint;
    this.publicHost = this.options.host;
    this.tunnels = this.options.tunnels.map((spec) => ({
      spec,
      tunnelId: randomBytes(8).toString('hex'),
      localHost: spec.localHost ?? '127.0.0.1',
      localPort: spec.localPort,
      remotePort: spec.remotePort === 'any' ? undefined : spec.remotePort,
      publicName: '',
      traffic: new TrafficCounter(),
    }));
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Not everyone awaits ready; a failure also arrives as the 'closed' status, so leaving the
    // rejection unobserved must not crash the process.
    this.ready.catch(() => undefined);
    this.direct = new DirectOwner(this.options.services, this.options.host, this.options.directBind, (m) =>
      this.emit('warning', m),
    );
    this.options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  published(): PublishedTunnel[] {
    return this.tunnels
      .filter((t) => t.remotePort !== undefined && t.localPort !== undefined)
      .map((t) => {
        const protocol = t.spec.protocol ?? 'tcp';
        const routed = protocol === 'http' || protocol === 'https'; // a name on the host's vhost port
        return {
          name: t.spec.name,
          protocol,
          localHost: t.localHost,
          localPort: t.localPort!,
          remotePort: t.remotePort!,
          publicHost: routed ? t.publicName : this.publicHost,
          publicAddress: routed
            ? `${protocol}://${formatAddress(t.publicName, t.remotePort!)}`
            : formatAddress(this.publicHost, t.remotePort!),
        };
      });
  }

  /** Published tunnels with their visitors and bytes so far (bytes of open visitors included). */
  traffic(): TunnelTraffic[] {
    return this.published().map((p) => {
      const t = this.tunnels.find((x) => x.spec.name === p.name)!.traffic;
      return { ...p, visitorsNow: t.now, visitorsTotal: t.total, bytesIn: t.bytesIn, bytesOut: t.bytesOut };
    });
  }

  /** The current connection to the host, if any: when it started and how many data connections are parked. */
  connection(): { sessionId: string; since: Date; poolIdle: number } | undefined {
    const s = this.session;
    return s && this.connectedAt
      ? { sessionId: s.sessionId, since: this.connectedAt, poolIdle: s.poolIdle }
      : undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let connectedOnce = false;
    while (!this.stop.signal.aborted) {
      this.emit('status', { state: 'connecting', attempt: failures + 1 });
      let session: ControlSession | undefined;
      try {
        session = await openControlSession(
          this.options,
          this.fingerprint,
          (id) => this.target(id),
          (m) => this.emit('warning', m),
        );
        this.session = session;
        session.startPool();
        this.direct.attach(session);
        session.onDatagram = (tunnelId, visitorId, data) => this.udp.fromHost(tunnelId, visitorId, data);
        this.udp.setSender((tunnelId, visitorId, data) => session!.sendDatagram(tunnelId, visitorId, data));
        this.fingerprint ??= session.fingerprint;
        this.publicHost = session.publicHost;
        for (const t of this.tunnels) await this.registerTunnel(session, t, connectedOnce);
        for (const s of this.options.services) await session.registerService(s.id, s.description ?? '', s.ownerKey);
      } catch (err) {
        // A refused first login closes what it registered: the host must not hold those ports for a client that never ran.
        if (session && !connectedOnce) await session.goodbye(this.tunnels.map((t) => t.tunnelId));
        session?.close();
        const e = toP2prcError(err, 'E_PROTOCOL');
        failures++;
        // Another protocol at the address will not turn into a p2prc host by retrying.
        if (!connectedOnce && (this.options.exitOnLoginFailure || FATAL_ON_FIRST.has(e.code) || e.details.foreign))
          return this.fail(e);
        if (failures > this.options.maxRetries) return this.fail(e);
        const delayMs = backoffDelay(failures, this.options.backoff);
        this.emit('status', { state: 'reconnecting', attempt: failures, delayMs, error: e });
        await delay(delayMs, undefined, { signal: this.stop.signal }).catch(() => undefined); // aborted by close(): the loop ends
        continue;
      }
      failures = 0;
      this.connectedAt = new Date();
      this.emit('status', { state: 'connected', sessionId: session.sessionId, restored: connectedOnce });
      this.emit('published', this.published());
      if (!connectedOnce) this.resolveReady(this.published());
      connectedOnce = true;
      const reason = await session.closed;
      this.session = undefined;
      if (this.stop.signal.aborted) break;
      failures = 1;
      const delayMs = backoffDelay(1, this.options.backoff);
      this.emit('status', { state: 'reconnecting', attempt: 1, delayMs, error: reason });
      await delay(delayMs, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }

  private async registerTunnel(session: ControlSession, t: TunnelState, reconnecting: boolean): Promise<void> {
    const listen = t.spec.listen;
    const bindLocal = async (port: number): Promise<boolean> => {
      try {
        await listen!(port);
        t.localPort = port;
        return true;
      } catch (err) {
        if (isP2prcError(err, 'E_PORT_TAKEN')) return false;
        throw err;
      }
    };
    const base = {
      tunnelId: t.tunnelId,
      protocol: t.spec.protocol ?? 'tcp',
      name: t.spec.name,
      ...(t.spec.domain ? { domain: t.spec.domain } : {}),
    };
    if (listen && t.localPort === undefined && t.remotePort !== undefined) {
      // A requested port must be free here as well; say which side refused.
      if (!(await bindLocal(t.remotePort))) {
        throw new P2prcError('E_PORT_TAKEN', `port ${t.remotePort} is already in use locally`, {
          details: { side: 'local', port: t.remotePort },
        });
      }
    }
    const matchLocal = !!listen && t.localPort === undefined;
    const { port, publicHost } = await session.register(
      {
        ...base,
        remotePort: t.spec.protocol === 'http' || t.spec.protocol === 'https' ? 0 : (t.remotePort ?? 0),
        matchLocal,
      },
      bindLocal,
    );
    t.publicName = publicHost;
    if (reconnecting && t.remotePort !== undefined && port !== t.remotePort) {
      this.emit('warning', `public port of ${t.spec.name} changed from ${t.remotePort} to ${port}`);
    }
    t.remotePort = port;
  }

  private target(tunnelId: string): LocalTarget | undefined {
    if (tunnelId.startsWith('svc:')) {
      const s = this.options.services.find((x) => `svc:${x.id}` === tunnelId);
      if (!s) return undefined;
      let tickets = this.tickets.get(s.id);
      if (!tickets) this.tickets.set(s.id, (tickets = new TicketStore()));
      return { host: s.localHost ?? '127.0.0.1', port: s.localPort, service: { id: s.id, secret: s.secret, tickets } };
    }
    const t = this.tunnels.find((x) => x.tunnelId === tunnelId);
    if (!t || t.localPort === undefined) return undefined;
    const name = t.spec.name;
    const address = formatAddress(t.localHost, t.localPort);
    return {
      host: t.localHost,
      port: t.localPort,
      traffic: t.traffic,
      local: {
        failed: (err) => this.localWarnings.failed(name, address, err),
        reached: () => this.localWarnings.recovered(name),
      },
    };
  }

  private fail(error: P2prcError): void {
    this.udp.close();
    this.direct.close();
    this.rejectReady(error);
    this.stop.abort();
    this.emit('status', { state: 'closed', error });
  }

  /** Closes tunnels on the host (so ports are released at once, not after the grace period). */
  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    const session = this.session;
    await session?.goodbye(this.tunnels.map((t) => t.tunnelId));
    this.rejectReady(new P2prcError('E_CLOSED', 'client closed before the tunnels were published'));
    await this.loop;
    this.udp.close();
    this.direct.close();
    this.emit('status', { state: 'closed', error: undefined });
  }
}
