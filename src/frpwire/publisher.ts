import { EventEmitter } from 'node:events';
import getPort from 'get-port';
import { isP2prcError } from '../errors.js';
import type { PublishedTunnel } from '../protocol/address.js';
import type { FrpTunnelSpec } from '../frp/publisher.js';
import { FrpWireClient } from './client.js';

export interface FrpWirePublisherOptions {
  host: string;
  port: number;
  token: string;
  tcpMux: boolean;
  hostIsLocal: boolean;
  tunnels: FrpTunnelSpec[];
}

/**
 * Publishes through a stock frps with the native frp-wire client (no frp binary). Ports follow the
 * two-sided rule: a candidate free here; frps refusing it ("port unavailable") gets another.
 */
export class FrpWirePublisher extends EventEmitter<{ status: [string]; published: [PublishedTunnel[]] }> {
  private client: FrpWireClient | undefined;

  constructor(private readonly o: FrpWirePublisherOptions) {
    super();
  }

  async start(): Promise<PublishedTunnel[]> {
    const ports = new Map<string, { local: number; remote: number }>();
    const avoid: number[] = [];
    for (const t of this.o.tunnels) {
      const local = t.localPort ?? (t.remotePort !== 'any' && !this.o.hostIsLocal ? t.remotePort : await getPort({ exclude: avoid }));
      if (t.listen) await t.listen(local);
      const remote = t.remotePort !== 'any' ? t.remotePort : this.o.hostIsLocal || t.localPort !== undefined ? await getPort({ exclude: [...avoid, local] }) : local;
      avoid.push(local, remote);
      ports.set(t.name, { local, remote });
    }
    for (let attempt = 1; ; attempt++) {
      const client = new FrpWireClient({
        host: this.o.host, port: this.o.port, token: this.o.token, tcpMux: this.o.tcpMux,
        tunnels: this.o.tunnels.map((t) => ({ name: t.name, protocol: t.protocol, localHost: '127.0.0.1', localPort: ports.get(t.name)!.local, remotePort: ports.get(t.name)!.remote })),
      });
      try {
        const published = await client.start();
        client.on('status', (s) => this.emit('status', s));
        client.on('published', (l) => this.emit('published', l));
        this.client = client;
        return published;
      } catch (err) {
        await client.close();
        const name = isP2prcError(err, 'E_PORT_TAKEN') ? (err.details.proxy as string | undefined) : undefined;
        const spec = this.o.tunnels.find((t) => t.name === name);
        if (!spec || spec.remotePort !== 'any' || attempt >= 10) throw err;
        const old = ports.get(spec.name)!;
        avoid.push(old.remote);
        this.emit('status', `frps refused port ${old.remote} for ${spec.name}; trying another port free on both sides`);
        ports.set(spec.name, { local: old.local, remote: await getPort({ exclude: [...avoid, old.local] }) });
      }
    }
  }

  published(): PublishedTunnel[] {
    return this.client?.published() ?? [];
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
