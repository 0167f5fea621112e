import { EventEmitter } from 'node:events';
import getPort from 'get-port';
import type { PublishedTunnel } from '../../protocol/address.js';
import { publishWithPortRetry, type PortPair, type PortSpec } from '../../protocol/port-retry.js';
import { FrpWireClient } from './client.js';

export interface FrpWirePublisherOptions {
  host: string;
  port: number;
  token: string;
  tcpMux: boolean;
  tls: boolean;
  hostIsLocal: boolean;
  tunnels: PortSpec[];
}

/**
 * Publishes through a stock frps with the native frp-wire client (no frp binary). An "any" port is
 * frps's choice (remote_port 0, inside its allow_ports), or the one held before when frps still
 * gives it; NewProxyResp says which, and the client asks for the same one after a reconnect.
 */
export class FrpWirePublisher extends EventEmitter<{
  status: [string];
  published: [PublishedTunnel[]];
  reconnecting: [Date];
}> {
  private client: FrpWireClient | undefined;

  constructor(private readonly o: FrpWirePublisherOptions) {
    super();
  }

  async start(): Promise<PublishedTunnel[]> {
    const { result: client } = await publishWithPortRetry(
      this.o.tunnels,
      {
        hostIsLocal: this.o.hostIsLocal,
        freePort: (exclude) => getPort({ exclude }),
        onRetry: (m) => this.emit('status', m),
      },
      (ports) => this.login(ports),
    );
    client.on('published', (l) => this.emit('published', l));
    client.on('reconnecting', (since) => this.emit('reconnecting', since));
    this.client = client;
    return client.published();
  }

  /** One client with these ports; closed again when frps refuses any of them. */
  private async login(ports: ReadonlyMap<string, PortPair>): Promise<FrpWireClient> {
    const client = new FrpWireClient({
      host: this.o.host,
      port: this.o.port,
      token: this.o.token,
      tcpMux: this.o.tcpMux,
      tls: this.o.tls,
      tunnels: this.o.tunnels.map((t) => ({
        name: t.name,
        protocol: t.protocol,
        localHost: t.localHost ?? '127.0.0.1',
        localPort: ports.get(t.name)!.local,
        remotePort: ports.get(t.name)!.remote,
        anyPort: t.remotePort === 'any',
      })),
    });
    client.on('status', (s) => this.emit('status', s));
    try {
      await client.start();
      return client;
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  published(): PublishedTunnel[] {
    return this.client?.published() ?? [];
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
