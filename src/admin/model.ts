/**
 * The admin API's data: stable field names (docs/admin.md) that the JSON routes, the metrics and
 * the dashboard all read. Pure types plus the small helpers that build them; no sockets here.
 */

export type RefusalReason = 'auth' | 'tls' | 'quota' | 'port_taken' | 'policy' | 'version' | 'protocol' | 'timeout';
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'auth',
  'tls',
  'quota',
  'port_taken',
  'policy',
  'version',
  'protocol',
  'timeout',
];

export interface ClientView {
  id: string;
  name: string;
  /** Peer address as host:port (the client's own side on a client: the host it is connected to). */
  address: string;
  /** ISO time of the login. */
  since: string;
  tunnels: number;
  bytesIn: number;
  bytesOut: number;
}

export interface TunnelView {
  name: string;
  /** Client name (host side) or "self" (client side). */
  owner: string;
  publicPort: number | null;
  domain: string | null;
  /** Local target as host:port, when this side knows it (the client). */
  target: string | null;
  protocol: 'tcp' | 'udp' | 'http' | 'https';
  /** native, frp-wire (frp's protocol spoken natively) or frp (a supervised frpc). */
  engine: 'native' | 'frp-wire' | 'frp';
  online: boolean;
  visitorsNow: number;
  visitorsTotal: number;
  /** Bytes from visitors into the tunnel, and back to them. */
  bytesIn: number;
  bytesOut: number;
  since: string;
}

export type AdminEventType = 'login' | 'logout' | 'refused' | 'tunnel-opened' | 'tunnel-closed';

export interface AdminEvent {
  /** Monotonic sequence number, so pollers can ask for what is new. */
  seq: number;
  time: string;
  type: AdminEventType;
  message: string;
  peer?: string;
  client?: string;
  tunnel?: string;
  port?: number;
  reason?: RefusalReason;
}

/** Gauges a side reports besides its clients and tunnels. */
export interface AdminStats {
  pendingHandshakes: number;
  dataPoolSize: number;
  dataPoolMisses: number;
}

/** What the admin server reads from; the service layer adapts a host or a client to it. */
export interface AdminSource {
  role: 'host' | 'client';
  clients(): ClientView[];
  tunnels(): TunnelView[];
  stats(): AdminStats;
}

/** Maps an error code to the refusal reason operators filter on; unknown codes are protocol refusals. */
export function refusalReason(code: string): RefusalReason {
  switch (code) {
    case 'E_AUTH':
      return 'auth';
    case 'E_TLS':
      return 'tls';
    case 'E_QUOTA':
      return 'quota';
    case 'E_PORT_TAKEN':
      return 'port_taken';
    case 'E_PORT_DENIED':
      return 'policy';
    case 'E_VERSION':
      return 'version';
    case 'E_TIMEOUT':
      return 'timeout';
    default:
      return 'protocol';
  }
}
