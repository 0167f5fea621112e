import { EventEmitter } from 'node:events';
import { ReverseProxyClient, type TunnelTraffic } from '../client/client.js';
import { type PublishedTunnel } from '../protocol/address.js';
import type { ConnectOptions, TunnelSpec } from '../client/options.js';
import { probeHost } from '../client/probe.js';
import { dial } from '../transport/net.js';
import { debugFailure } from '../log.js';

/** What the node service needs from an engine: publish, report, stop. */
export interface Publisher extends EventEmitter<{ status: [string]; published: [PublishedTunnel[]] }> {
  start(): Promise<PublishedTunnel[]>;
  published(): PublishedTunnel[];
  close(): Promise<void>;
  readonly fingerprint?: string | undefined;
  /** Live visitor and byte counts per tunnel, where the engine keeps them (native). */
  traffic?(): TunnelTraffic[];
  connection?(): { sessionId: string; since: Date; poolIdle: number } | undefined;
}

/** The native engine behind the Publisher interface, with its reconnects turned into status lines. */
export class NativePublisher extends EventEmitter<{ status: [string]; published: [PublishedTunnel[]] }> implements Publisher {
  readonly client: ReverseProxyClient;

  constructor(options: ConnectOptions & { tunnels: TunnelSpec[] }) {
    super();
    this.client = new ReverseProxyClient(options);
    this.client.on('status', (s) => {
      if (s.state === 'reconnecting') this.emit('status', `status: ${s.error.code}: ${s.error.message}; retrying in ${(s.delayMs / 1000).toFixed(1)}s (attempt ${s.attempt})`);
      else if (s.state === 'connected' && s.restored) this.emit('status', 'status: reconnected; tunnels restored');
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

export type EngineChoice = { engine: 'native'; tls: boolean; reason: string } | { engine: 'frp'; reason: string };

/**
 * --engine auto: a p2prc host answers our Hello (with or without TLS); a port that accepts TCP but
 * does not is taken to be a stock frps. Nothing listening: native, which then waits and retries.
 */
export async function detectEngine(host: string, port: number, preferTls: boolean, timeoutMs = 3_000): Promise<EngineChoice> {
  for (const tls of [preferTls, !preferTls]) {
    const r = await probeHost(host, port, { tls, timeoutMs });
    if (r.state === 'alive') return { engine: 'native', tls, reason: `the host answered the p2prc handshake${tls ? ' over TLS' : ' in plaintext'}` };
  }
  try {
    const { socket } = await dial({ host, port, tls: false, timeoutMs });
    socket.destroy();
    return { engine: 'frp', reason: 'the port accepts connections but does not speak p2prc: assuming a stock frps' };
  } catch (err) {
    debugFailure(`engine detection: ${host}:${port} not reachable`, err, 'E_UNREACHABLE');
    return { engine: 'native', tls: preferTls, reason: 'the host is not reachable yet; using the native engine and retrying' };
  }
}
