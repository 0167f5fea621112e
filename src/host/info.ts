/** What the host reports of its clients and tunnels (the admin API and `--view-clients` read these). */
export interface ClientInfo {
  clientId: string;
  name: string;
  remote: string;
  tunnels: number;
  connectedAt: string;
  bytesIn: number;
  bytesOut: number;
}

export interface TunnelInfo {
  name: string;
  port: number;
  protocol: 'tcp' | 'udp' | 'http' | 'https';
  /** An http(s) tunnel's domain(s), comma-separated; null for a port of its own. */
  domain: string | null;
  clientId: string;
  clientName: string | undefined;
  online: boolean;
  connections: number;
  activeVisitors: number;
  bytesIn: number;
  bytesOut: number;
  createdAt: string;
  engine: 'native' | 'frp-wire';
}
