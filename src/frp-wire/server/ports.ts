import type { VisitorSink } from '../../transport/pairing-pool.js';
import type { VhostRoute } from '../../vhost/vhost-server.js';
import type { SniRoute } from '../../vhost/https-server.js';

/**
 * What the frp-wire server needs from whoever owns public ports (the p2prc host: its port policy,
 * quotas and grace period). The server never binds a port itself, so frp clients get exactly the
 * treatment p2prc clients get.
 */
export interface FrpTunnel {
  readonly tunnelId: string;
  readonly name: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/** A UDP proxy's public port: the owner names visitors by id, frp names them by address. */
export interface FrpUdpTunnel extends FrpTunnel {
  idOf(address: string, port: number): number | undefined;
  toVisitor(visitorId: number, data: Buffer): void;
  dropped: number;
}

export interface FrpOpenRequest {
  runId: string;
  /** The proxy name: frp's unit of identity, unique per server. */
  name: string;
  /** 0 for any port. */
  remotePort: number;
  /** Where the port hands its visitors (the frpc's control). */
  sink: VisitorSink;
  /** Proxies this frpc already holds, for the per-client quota. */
  held: number;
  udp: boolean;
  /** The frpc's address ("host:port"), for quotas that follow a principal rather than a run id. */
  remote?: string;
  /** Logged in on the open port with no token (P2PRC's /FRPPort): owns ports per run id, not per name. */
  tokenless?: boolean;
}

export interface FrpPorts<T extends FrpTunnel> {
  /** Binds (or takes back from grace) a public port; throws coded errors (E_PORT_TAKEN, E_PORT_DENIED, E_QUOTA). */
  open(request: FrpOpenRequest): Promise<T>;
  /** Closes a proxy's port, or keeps it for the client's grace period when its connection was lost. */
  close(runId: string, tunnel: T, keepForGrace: boolean): void;
}

/**
 * The owner's HTTP virtual-host port, for frp http proxies (frps's vhost_http_port and
 * subdomain_host). `register` claims every domain x location for a route, all or none (E_CONFLICT).
 */
export interface FrpVhost {
  readonly port: number;
  readonly subdomainHost: string | undefined;
  /** `principal`: who claims (the frpc's address); a domain another principal holds is E_CONFLICT. */
  register(domains: readonly string[], locations: readonly string[], route: VhostRoute, principal: string): () => void;
}

/**
 * The owner's HTTPS virtual-host port, for frp https proxies (frps's vhost_https_port): connections
 * routed by the server name of their ClientHello. `register` claims every domain, all or none (E_CONFLICT).
 */
export interface FrpHttpsVhost {
  readonly port: number;
  readonly subdomainHost: string | undefined;
  register(domains: readonly string[], route: SniRoute, principal: string): () => void;
}
