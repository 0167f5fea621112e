import { CountedTunnel, type CountedConnection } from '../../transport/traffic.js';
import type { FrpTunnel } from './ports.js';

/**
 * An frp http or https proxy as the host's views list it: no port of its own (the vhost port), its
 * domains as its public name, and the visitors and bytes of its requests (https: of its connections). Shaped like the host's own tunnels, so
 * the admin API, the metrics and `--view-clients` show it beside them.
 */
export class FrpHttpTunnel extends CountedTunnel implements FrpTunnel {
  readonly protocol = 'tcp' as const;
  readonly createdAt = new Date();
  readonly sink = undefined;
  readonly graceTimer = undefined;

  constructor(
    readonly tunnelId: string,
    readonly name: string,
    readonly port: number,
    /** The claimed domains, comma-separated as frp's remote_addr lists them. */
    readonly publicName: string,
    readonly scheme: 'http' | 'https' = 'http',
    readonly clientId = tunnelId,
  ) {
    super();
  }

  /** One request's connection (https: the visitor's), from the side facing frpc. */
  track(conn: CountedConnection): void {
    this.traffic.track(conn);
  }

  close(): void {}
}
