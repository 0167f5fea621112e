import net from 'node:net';
import { CountedTunnel } from '../transport/traffic.js';
import type { TunnelProtocol } from '../protocol/messages.js';
import type { VisitorSink } from '../transport/pairing-pool.js';

/** What the host keeps per tunnel, TCP or UDP. */
export interface HostedTunnel {
  tunnelId: string;
  readonly port: number;
  readonly clientId: string;
  /** Who the tunnel counts against (an account, or the address of a token-only client): set by the engine. */
  principal?: string;
  name: string;
  readonly protocol: TunnelProtocol;
  sink: VisitorSink | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  readonly createdAt: Date;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connections: number;
  readonly activeVisitors: number;
  /** A name the client is told instead of the host's address (an http or https tunnel's domain). */
  readonly publicName?: string;
  /** Which vhost port routes it, for a tunnel with a public name. Default http. */
  readonly scheme?: 'http' | 'https';
  close(): void;
}

/**
 * One public port on the host. The listener is bound before the port is confirmed, so a confirmed
 * port is really held; it stays bound through a client's grace period so nobody else can take it.
 */
export class PublicTunnel extends CountedTunnel implements HostedTunnel {
  sink: VisitorSink | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  readonly createdAt = new Date();

  constructor(
    public tunnelId: string,
    readonly port: number,
    readonly server: net.Server,
    readonly clientId: string,
    public name: string,
    readonly protocol: TunnelProtocol,
  ) {
    super();
    server.on('connection', (visitor) => this.onVisitor(visitor));
  }

  private onVisitor(visitor: net.Socket): void {
    if (!this.sink) {
      // Owner is reconnecting (grace period): refuse fast rather than hang the visitor.
      visitor.destroy();
      return;
    }
    this.traffic.track(visitor);
    this.sink.acceptVisitor(this, visitor);
  }

  close(): void {
    clearTimeout(this.graceTimer);
    this.sink = undefined;
    this.server.close();
    for (const v of this.traffic.live) v.destroy();
  }
}
