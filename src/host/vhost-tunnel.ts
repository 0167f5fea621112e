import { duplexPair } from '../transport/pair.js';
import { CountedTunnel } from '../transport/traffic.js';
import type { SniRoute } from '../vhost/https-server.js';
import type { VhostRoute } from '../vhost/vhost-server.js';
import type { VisitorSink } from '../transport/pairing-pool.js';
import type { HostedTunnel } from './tunnel.js';

/**
 * A native client's http or https service (`--expose http:PORT@DOMAIN`, `https:PORT@DOMAIN`): no port
 * of its own, a route on the host's vhost port instead. Each http request reaches the client as a
 * visitor would, through its sink, over an in-memory connection the vhost server speaks HTTP on; each
 * https connection goes to the sink whole, as a TCP visitor, once its ClientHello named the domain.
 */
export class VhostTunnel extends CountedTunnel implements HostedTunnel {
  readonly protocol = 'tcp' as const;
  sink: VisitorSink | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  readonly createdAt = new Date();
  private unregister: (() => void) | undefined;

  constructor(
    public tunnelId: string,
    readonly port: number,
    readonly clientId: string,
    public name: string,
    /** The claimed domain, told to the client as its public name. */
    readonly publicName: string,
    readonly scheme: 'http' | 'https' = 'http',
  ) {
    super();
  }

  /** The route to register on the HTTP vhost server for this tunnel. */
  route(): VhostRoute {
    return {
      owner: `tunnel ${this.name}`,
      connect: (visitor) => {
        const [mine, theirs] = duplexPair({}, visitor);
        if (!this.sink) {
          theirs.destroy(); // the client is reconnecting: the request fails fast with the 404 page
          return mine;
        }
        this.traffic.track(theirs);
        this.sink.acceptVisitor(this, theirs);
        return mine;
      },
    };
  }

  /** The route to register on the HTTPS vhost server for this tunnel. */
  sniRoute(): SniRoute {
    return {
      owner: `tunnel ${this.name}`,
      accept: (visitor) => {
        if (!this.sink) return void visitor.destroy(); // the client is reconnecting: closed at once
        this.traffic.track(visitor);
        this.sink.acceptVisitor(this, visitor);
      },
    };
  }

  claimed(unregister: () => void): void {
    this.unregister = unregister;
  }

  close(): void {
    clearTimeout(this.graceTimer);
    this.sink = undefined;
    this.unregister?.();
    this.unregister = undefined;
    // As a port's tunnel does: its visitors' connections go with it.
    for (const v of this.traffic.live) v.destroy();
  }
}
