import { P2prcError } from '../errors.js';
import { parsePortRanges, type PortRange } from '../protocol/address.js';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame.js';
import type { UserRecord } from '../services/accounts.js';
import type { GuessLimits } from '../services/guess-throttle.js';

export interface HostOptions {
  /** Control port; 0 picks a free one (read it back from the handle). Default 7000. */
  controlPort?: number;
  /** Address for the control port and public listeners. Default 0.0.0.0. */
  bind?: string;
  /** Address visitors should use; told to clients. Default: the address each client dialed. */
  publicHost?: string;
  /** Shared token. Without one, a token is generated and kept in stateDir. */
  token?: string;
  /** Where the token, key and certificate live. Without one, they are generated in memory. */
  stateDir?: string;
  /** TLS on the control and data connections. Default true. */
  tls?: boolean;
  /** Allowed public ports: "6000-6100,7000" or ranges. Default: any port; "any" picks from 10000-29999. */
  allowPorts?: string | PortRange[];
  maxTunnelsPerClient?: number;
  /**
   * Tunnels one principal may hold across all its sessions and client ids: an account (--users), else
   * (the token is shared) the address a client comes from, an IPv6 /64 counting as one. Default 256.
   */
  maxTunnelsPerPrincipal?: number;
  maxClients?: number;
  /** How long a disconnected client's ports stay reserved for it. Default 30 s. */
  graceMs?: number;
  heartbeatMs?: number;
  handshakeTimeoutMs?: number;
  maxFrameSize?: number;
  maxPendingHandshakes?: number;
  /** Handshakes in progress from one address (strangers only). Default max(16, maxPendingHandshakes / 4). */
  maxPendingPerSource?: number;
  /** UDP visitors silent this long are forgotten. Default 60 s. */
  udpIdleMs?: number;
  /** UDP visitors (source address and port) one tunnel remembers; one not seen lately makes room. Default 4096. */
  udpMaxVisitors?: number;
  /** Backoff after wrong service secrets, per source and per service ID (defaults in guess-throttle.ts). */
  serviceGuesses?: Partial<GuessLimits>;
  /** Accounts required (in addition to the token) for listing and visiting services. */
  users?: UserRecord[];
  /** Also serve stock frpc clients on the control port. Default true. */
  frpCompat?: boolean;
  /**
   * Open a second port (0 = any) where frp clients log in with no token, as P2PRC's embedded frp
   * client does after GET /FRPPort. Same port policy and quotas. Default: no such port.
   */
  openFrpPort?: number;
  /** Port of the HTTP virtual-host listener (frps's vhost_http_port); 0 picks one. Default: none. */
  vhostHttpPort?: number;
  /**
   * Port of the HTTPS virtual-host listener (frps's vhost_https_port, vhostHTTPSPort in TOML): TLS
   * connections routed by the server name of their ClientHello, never decrypted; 0 picks one. Default: none.
   */
  vhostHttpsPort?: number;
  /** Domain under which http(s) proxies may claim `<subdomain>.<subdomainHost>` (frps's subdomain_host). */
  subdomainHost?: string;
  /** UDP port of the STUN binding responder for direct paths. Default: the control port's number; false: none. */
  stunPort?: number | false;
}

export interface ResolvedHostOptions {
  controlPort: number;
  bind: string;
  publicHost: string | undefined;
  token: string;
  tls: boolean;
  allowPorts: PortRange[] | undefined;
  maxTunnelsPerClient: number;
  maxTunnelsPerPrincipal: number;
  maxClients: number;
  graceMs: number;
  heartbeatMs: number;
  handshakeTimeoutMs: number;
  maxFrameSize: number;
  maxPendingHandshakes: number;
  maxPendingPerSource: number | undefined;
  udpIdleMs: number;
  udpMaxVisitors: number;
  serviceGuesses: Partial<GuessLimits>;
  users: UserRecord[] | undefined;
  frpCompat: boolean;
  openFrpPort: number | undefined;
  vhostHttpPort: number | undefined;
  vhostHttpsPort: number | undefined;
  subdomainHost: string | undefined;
  /** undefined: the control port's number, if that UDP port is free. */
  stunPort: number | false | undefined;
}

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new P2prcError('E_USAGE', `option ${name} must be an integer between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function resolveHostOptions(o: HostOptions & { token: string }): ResolvedHostOptions {
  if (!o.token) throw new P2prcError('E_USAGE', 'option token must not be empty');
  return {
    controlPort: int('controlPort', o.controlPort, 7000, 0, 65535),
    bind: o.bind ?? '0.0.0.0',
    publicHost: o.publicHost || undefined,
    token: o.token,
    tls: o.tls ?? true,
    allowPorts: typeof o.allowPorts === 'string' ? parsePortRanges(o.allowPorts) : o.allowPorts,
    maxTunnelsPerClient: int('maxTunnelsPerClient', o.maxTunnelsPerClient, 16, 1, 65535),
    maxTunnelsPerPrincipal: int('maxTunnelsPerPrincipal', o.maxTunnelsPerPrincipal, 256, 1, 1_000_000),
    maxClients: int('maxClients', o.maxClients, 1024, 1, 1_000_000),
    graceMs: int('graceMs', o.graceMs, 30_000, 0, 86_400_000),
    heartbeatMs: int('heartbeatMs', o.heartbeatMs, 10_000, 50, 3_600_000),
    handshakeTimeoutMs: int('handshakeTimeoutMs', o.handshakeTimeoutMs, 5_000, 50, 600_000),
    maxFrameSize: int('maxFrameSize', o.maxFrameSize, DEFAULT_MAX_FRAME_SIZE, 1024, 16 * 1024 * 1024),
    maxPendingHandshakes: int('maxPendingHandshakes', o.maxPendingHandshakes, 256, 1, 100_000),
    maxPendingPerSource:
      o.maxPendingPerSource === undefined
        ? undefined
        : int('maxPendingPerSource', o.maxPendingPerSource, 0, 1, 100_000),
    udpIdleMs: int('udpIdleMs', o.udpIdleMs, 60_000, 100, 86_400_000),
    udpMaxVisitors: int('udpMaxVisitors', o.udpMaxVisitors, 4096, 1, 1_000_000),
    serviceGuesses: o.serviceGuesses ?? {},
    users: o.users,
    frpCompat: o.frpCompat ?? true,
    openFrpPort: o.openFrpPort === undefined ? undefined : int('openFrpPort', o.openFrpPort, 0, 0, 65535),
    vhostHttpPort: o.vhostHttpPort === undefined ? undefined : int('vhostHttpPort', o.vhostHttpPort, 0, 0, 65535),
    vhostHttpsPort: o.vhostHttpsPort === undefined ? undefined : int('vhostHttpsPort', o.vhostHttpsPort, 0, 0, 65535),
    subdomainHost: subdomainHost(o.subdomainHost),
    stunPort:
      o.stunPort === false ? false : o.stunPort === undefined ? undefined : int('stunPort', o.stunPort, 0, 0, 65535),
  };
}

function subdomainHost(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value
    .trim()
    .toLowerCase()
    .replace(/^\.+|\.+$/g, '');
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(v))
    throw new P2prcError('E_USAGE', `option subdomainHost must be a domain name, got "${value}"`);
  return v;
}
