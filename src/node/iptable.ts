import os from 'node:os';
import { debugFailure } from '../log.js';

/** One node in P2PRC's IP table; field names and casing are P2PRC's own. */
export interface IpTableEntry {
  Name: string;
  MachineUsername: string;
  IPV4: string;
  IPV6: string;
  Latency: number;
  Download: number;
  Upload: number;
  ServerPort: string;
  UDPServerPort: string;
  BareMetalSSHPort: string;
  NAT: boolean;
  EscapeImplementation: string;
  ProxyServer: boolean;
  UnSafeMode: boolean;
  PublicKey: string;
  CustomInformation: string;
}

export interface IpTable {
  ip_address: IpTableEntry[];
}

/** The first non-internal IPv4/IPv6 addresses of this machine, or loopback when there are none. */
export function localAddresses(): { ipv4: string; ipv6: string } {
  let ipv4 = '';
  let ipv6 = '';
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' && !ipv4) ipv4 = a.address;
      if (a.family === 'IPv6' && !ipv6 && !a.address.startsWith('fe80')) ipv6 = a.address;
    }
  }
  return { ipv4: ipv4 || '127.0.0.1', ipv6 };
}

export interface SelfEntryInput {
  name?: string;
  serverPort: number;
  udpServerPort?: number;
  /** Set when the node is reachable only through a reverse proxy. */
  proxied?: { host: string; port: number; engine: 'native' | 'FRP' };
  proxyServer?: boolean;
  customInformation?: string;
}

/** Builds this node's own entry: behind a proxy, peers see the proxy's address and public port. */
export function selfEntry(input: SelfEntryInput): IpTableEntry {
  const local = localAddresses();
  const proxied = input.proxied;
  return {
    Name: input.name ?? os.hostname(),
    MachineUsername: safeUsername(),
    IPV4: proxied ? proxied.host : local.ipv4,
    IPV6: proxied ? '' : local.ipv6,
    Latency: 0,
    Download: 0,
    Upload: 0,
    ServerPort: String(proxied ? proxied.port : input.serverPort),
    UDPServerPort: input.udpServerPort ? String(input.udpServerPort) : '',
    BareMetalSSHPort: '',
    NAT: !!proxied,
    EscapeImplementation: proxied ? proxied.engine : '',
    ProxyServer: input.proxyServer ?? false,
    UnSafeMode: false,
    PublicKey: '',
    CustomInformation: input.customInformation ?? '',
  };
}

function safeUsername(): string {
  try {
    return os.userInfo().username;
  } catch (err) {
    // No passwd entry (containers): the field is informational, so it stays empty.
    debugFailure('no user name for the IP table entry', err, 'E_CONFIG');
    return '';
  }
}
