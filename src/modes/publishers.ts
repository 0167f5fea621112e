import { EventEmitter } from 'node:events';
import { ReverseProxyClient, type TunnelTraffic } from '../client/client.js';
import { type PublishedTunnel } from '../protocol/address.js';
import type { ConnectOptions, TunnelSpec } from '../client/options.js';
import { probeHost } from '../client/probe.js';
import { identifiesAsFrps } from '../frp-wire/client/identify.js';
import { dial } from '../transport/net.js';
import { debugFailure } from '../log/debug.js';
import { causeLines } from '../errors.js';

/**
 * An engine's events: status lines, the tunnels (again after a reconnect), and `reconnecting` with
 * the time the link was lost, once per outage (native and frp-wire; a supervised frpc reconnects on
 * its own and never emits it).
 */
export type PublisherEvents = { status: [string]; published: [PublishedTunnel[]]; reconnecting: [Date] };

/** What the node service needs from an engine: publish, report, stop. */
export interface Publisher extends EventEmitter<PublisherEvents> {
  start(): Promise<PublishedTunnel[]>;
  published(): PublishedTunnel[];
  close(): Promise<void>;
  readonly fingerprint?: string | undefined;
  /** Live visitor and byte counts per tunnel, where the engine keeps them (native). */
  traffic?(): TunnelTraffic[];
  connection?(): { sessionId: string; since: Date; poolIdle: number } | undefined;
}

/** The native engine behind the Publisher interface, with its reconnects turned into status lines. */
export class NativePublisher extends EventEmitter<PublisherEvents> implements Publisher {
  readonly client: ReverseProxyClient;
  /** Whether the link is up: `reconnecting` is told once when it goes down, not per retry. */
  private up = false;

  constructor(options: ConnectOptions & { tunnels: TunnelSpec[] }) {
    super();
    this.client = new ReverseProxyClient(options);
    this.client.on('status', (s) => {
      if (s.state === 'reconnecting' && this.up) this.emit('reconnecting', new Date());
      if (s.state === 'connected' || s.state === 'reconnecting' || s.state === 'closed')
        this.up = s.state === 'connected';
      if (s.state === 'reconnecting') {
        this.emit(
          'status',
          `status: ${s.error.code}: ${s.error.message}; retrying in ${(s.delayMs / 1000).toFixed(1)}s (attempt ${s.attempt})`,
        );
        // What the OS said, as indented "caused by:" lines: the CLI logs them at debug level (--verbose).
        for (const line of causeLines(s.error)) this.emit('status', line);
      } else if (s.state === 'connected' && s.restored) this.emit('status', 'status: reconnected; tunnels restored');
    });
    this.client.on('warning', (w) => this.emit('status', `warning: ${w}`));
    this.client.on('published', (list) => this.emit('published', list));
  }

  get fingerprint(): string | undefined {
    return this.client.fingerprint;
  }

  async start(): Promise<PublishedTunnel[]> {
    this.client.start();
    try {
      return await this.client.ready;
    } catch (err) {
      await this.client.close();
      throw err;
    }
  }

  published(): PublishedTunnel[] {
    return this.client.published();
  }

  traffic(): TunnelTraffic[] {
    return this.client.traffic();
  }

  connection(): { sessionId: string; since: Date; poolIdle: number } | undefined {
    return this.client.connection();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export interface EngineChoice {
  engine: 'native' | 'frp';
  /** For frp, whether frps answered over TLS (frp's 0x17 head byte). */
  tls: boolean;
  reason: string;
}

/**
 * --engine auto: a p2prc host answers our Hello; a stock frps is taken only when it identifies itself
 * (answers a Login carrying a random key), never because a port accepts and stays silent. With a
 * pinned fingerprint there is no fallback at all: not to plaintext, not to frp (whose login key is
 * crackable md5). Nothing listening: native, which then waits and retries.
 */
export async function detectEngine(
  host: string,
  port: number,
  preferTls: boolean,
  timeoutMs = 3_000,
  fingerprint?: string,
): Promise<EngineChoice> {
  for (const tls of fingerprint ? [true] : [preferTls, !preferTls]) {
    const r = await probeHost(host, port, { tls, fingerprint, timeoutMs });
    if (r.state === 'alive')
      return {
        engine: 'native',
        tls,
        reason: `the host answered the p2prc handshake${tls ? ' over TLS' : ' in plaintext'}`,
      };
  }
  if (fingerprint)
    return { engine: 'native', tls: true, reason: 'a fingerprint is pinned, so no fallback to plaintext or frp' };
  const frps = await identifiesAsFrps(host, port, timeoutMs);
  if (frps)
    return {
      engine: 'frp',
      tls: frps.tls,
      reason: `the port answered a frp login${frps.tls ? ' over TLS' : ''}: a stock frps`,
    };
  try {
    const { socket } = await dial({ host, port, tls: false, timeoutMs });
    socket.destroy();
    return {
      engine: 'native',
      tls: preferTls,
      reason: 'the port answers neither p2prc nor frp; using the native engine and retrying',
    };
  } catch (err) {
    debugFailure(`engine detection: ${host}:${port} not reachable`, err, 'E_UNREACHABLE');
    return {
      engine: 'native',
      tls: preferTls,
      reason: 'the host is not reachable yet; using the native engine and retrying',
    };
  }
}
