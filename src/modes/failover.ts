import { EventEmitter } from 'node:events';
import { P2prcError, isP2prcError, toP2prcError } from '../errors.js';
import { formatAddress, type PublishedTunnel } from '../protocol/address.js';
import type { TunnelTraffic } from '../client/client.js';
import { NativePublisher, type Publisher, type PublisherEvents } from './publishers.js';
import { rememberRefusal, type Candidate } from './choose-host.js';
import { backoffDelay } from '../protocol/backoff.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface FailoverOptions {
  configDir: string;
  /** Ranked usable hosts, best first, leaving out `exclude` ("host:port"). */
  rank: (exclude: string[]) => Promise<{ ranked: Candidate[]; skipped: string[] }>;
  /** A native publisher, or (for a node's lent frp port) an frp-wire one. */
  make: (c: Candidate) => Publisher;
  /** How long the current host may be lost before moving to the next best one. */
  failoverMs: number;
  /** At start, while no known host is usable: wait (with backoff) and rank again, instead of failing. */
  waitForHosts?: boolean;
}

const REFUSALS = new Set(['E_AUTH', 'E_QUOTA', 'E_PORT_DENIED', 'E_PORT_TAKEN', 'E_TLS']);

/**
 * `--connect-reverse-proxy auto`: publishes through the best host and, when it is lost for longer
 * than the grace period, republishes through the next best one and reports the new addresses.
 */
export class FailoverPublisher extends EventEmitter<PublisherEvents> implements Publisher {
  private current: { pub: Publisher; candidate: Candidate } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private starting: Publisher | undefined;
  private readonly stop = new AbortController();

  constructor(private readonly o: FailoverOptions) {
    super();
  }

  get fingerprint(): string | undefined {
    return this.current?.pub.fingerprint;
  }

  proxy(): { host: string; port: number } | undefined {
    return this.current ? { host: this.current.candidate.host, port: this.current.candidate.port } : undefined;
  }

  traffic(): TunnelTraffic[] {
    return this.current?.pub.traffic?.() ?? [];
  }

  connection(): { sessionId: string; since: Date; poolIdle: number } | undefined {
    return this.current?.pub.connection?.();
  }

  published(): PublishedTunnel[] {
    return this.current?.pub.published() ?? [];
  }

  async start(exclude: string[] = []): Promise<PublishedTunnel[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.tryRanked(exclude);
      } catch (err) {
        if (!this.o.waitForHosts || this.closed || !isP2prcError(err, 'E_UNREACHABLE')) throw err;
        const ms = backoffDelay(attempt);
        this.emit(
          'status',
          `status: ${(err as Error).message}; asking again in ${(ms / 1000).toFixed(1)}s (attempt ${attempt})`,
        );
        await delay(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
        if (this.closed) throw new P2prcError('E_CLOSED', 'closed before a reverse proxy was found');
      }
    }
  }

  private async tryRanked(exclude: string[]): Promise<PublishedTunnel[]> {
    const { ranked, skipped } = await this.o.rank(exclude);
    for (const s of skipped) this.emit('status', `skipping ${s}`);
    // As in the ranking: a peer's other ports on an address that refused our token are not asked
    // in this pass either (each would be another online guess); the operator's own records are.
    const refusedToken = new Set<string>();
    for (const c of ranked) {
      if (this.closed) break;
      if (c.peer && refusedToken.has(c.host)) {
        this.emit('status', `skipping ${formatAddress(c.host, c.port)}: another port of ${c.host} refused our token`);
        continue;
      }
      const name = formatAddress(c.host, c.port);
      this.emit('status', `chose reverse proxy ${name}: ${c.reason}`);
      const pub = (this.starting = this.o.make(c));
      try {
        const list = await pub.start();
        this.current = { pub, candidate: c };
        this.watch(pub, name);
        return list;
      } catch (err) {
        const e = toP2prcError(err);
        if (REFUSALS.has(e.code)) await rememberRefusal(this.o.configDir, c.host, c.port);
        if (e.code === 'E_AUTH') refusedToken.add(c.host);
        this.emit('status', `${name} did not work (${e.code}: ${e.message}); trying the next one`);
      } finally {
        this.starting = undefined;
      }
    }
    if (this.closed) throw new P2prcError('E_CLOSED', 'closed before a reverse proxy was found');
    throw new P2prcError(
      'E_UNREACHABLE',
      `no usable reverse proxy among those known in reverse_proxy_server.json${skipped.length ? ` (skipped: ${skipped.join('; ')})` : ''}`,
    );
  }

  private watch(pub: Publisher, name: string): void {
    pub.on('status', (line) => this.emit('status', line));
    pub.on('published', (list) => this.emit('published', list));
    pub.on('reconnecting', (since) => this.emit('reconnecting', since));
    const lost = () => (this.timer ??= setTimeout(() => void this.failover(name), this.o.failoverMs));
    const back = () => (clearTimeout(this.timer), (this.timer = undefined));
    if (!(pub instanceof NativePublisher)) {
      // The frp-wire client says `reconnecting` once per outage and `published` once reconnected.
      pub.on('reconnecting', lost);
      pub.on('published', back);
      return;
    }
    pub.client.on('status', (s) => {
      if (s.state === 'reconnecting') lost();
      else if (s.state === 'connected') back();
    });
  }

  private async failover(lost: string): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    this.emit('status', `reverse proxy ${lost} lost for ${this.o.failoverMs / 1000}s; failing over`);
    const old = this.current;
    this.current = undefined;
    await old?.pub.close();
    try {
      const list = await this.start([lost]);
      this.emit('published', list);
    } catch (err) {
      this.emit('status', `failover failed: ${(err as Error).message}; retrying in ${this.o.failoverMs / 1000}s`);
      this.timer = setTimeout(() => void this.failover(lost), this.o.failoverMs);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    clearTimeout(this.timer);
    await this.starting?.close();
    await this.current?.pub.close();
  }
}
