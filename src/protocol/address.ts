import { P2prcError } from '../errors.js';

/** Where a published service can be reached, whichever engine published it. */
export interface PublishedTunnel {
  name: string;
  protocol: 'tcp' | 'udp' | 'http' | 'https';
  localHost: string;
  localPort: number;
  remotePort: number;
  publicHost: string;
  publicAddress: string;
}

/** host:port, with IPv6 literals bracketed. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address part of "host:port" or "[v6]:port" (formatAddress's form), without brackets. */
export function addressOf(hostPort: string): string {
  return hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
}

/** Inclusive port range. */
export interface PortRange {
  start: number;
  end: number;
}

/** Parses "6000-6100,7000" into ranges; throws E_USAGE naming the bad part. */
export function parsePortRanges(spec: string): PortRange[] {
  const ranges: PortRange[] = [];
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const start = m ? Number(m[1]) : NaN;
    const end = m?.[2] !== undefined ? Number(m[2]) : start;
    if (!m || start < 1 || end > 65535 || start > end) {
      throw new P2prcError('E_USAGE', `invalid port range "${part}" in "${spec}" (expected e.g. 6000-6100,7000)`);
    }
    ranges.push({ start, end });
  }
  if (ranges.length === 0) throw new P2prcError('E_USAGE', `empty port range "${spec}"`);
  return ranges;
}

export function formatPortRanges(ranges: PortRange[]): string {
  return ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}-${r.end}`)).join(',');
}
