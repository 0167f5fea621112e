import { PairTraffic } from '../../transport/pair-traffic.js';
import type { PairEnd } from '../../transport/pair.js';
import type { FrpTunnel } from './ports.js';

/**
 * An frp http proxy as the host's views list it: no port of its own (the vhost port), its domains as
 * its public name, and the visitors and bytes of its requests. Shaped like the host's own tunnels, so
 * the admin API, the metrics and `--view-clients` show it beside them.
 */
export class FrpHttpTunnel implements FrpTunnel {
  readonly protocol = 'tcp' as const;
  readonly createdAt = new Date();
  readonly sink = undefined;
  readonly graceTimer = undefined;
  private readonly traffic = new PairTraffic();

  constructor(
    readonly tunnelId: string,
    readonly name: string,
    readonly port: number,
    /** The claimed domains, comma-separated as frp's remote_addr lists them. */
    readonly publicName: string,
    readonly clientId = tunnelId,
  ) {}

  /** One request's connection, from the side facing frpc. */
  track(end: PairEnd): void {
    this.traffic.track(end);
  }

  get connections(): number {
    return this.traffic.connections;
  }

  get activeVisitors(): number {
    return this.traffic.activeVisitors;
  }

  get bytesIn(): number {
    return this.traffic.bytesIn;
  }

  get bytesOut(): number {
    return this.traffic.bytesOut;
  }

  close(): void {}
}
