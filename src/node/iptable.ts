import net from 'node:net';
import os from 'node:os';
import { debugFailure } from '../log/debug.js';
import { encodeCustomInfo } from './validate.js';

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
  /** The address peers should dial (default: this machine's first public one). */
  advertise?: string;
  /** Set when the node is reachable only through a reverse proxy; `engine` is what carries the tunnel. */
  proxied?: { host: string; port: number; engine: 'native' | 'frp' };
  proxyServer?: boolean;
  /** A host's reverse-proxy details: kept in CustomInformation too, the one free field a Go node keeps. */
  reverseProxy?: unknown;
  customInformation?: string;
  /** Put this machine's host name and user name in the entry (`--share-identity`); off: empty strings. */
  shareIdentity?: boolean;
  /** This node answers GET /FRPPort with a token-less frp port (a host started with `--open`). */
  lendsFrpPort?: boolean;
}

/**
 * Builds this node's own entry. Behind a proxy, peers see the proxy's address and public port, with
 * EscapeImplementation "FRP" (frp or frp-wire) or "P2PRC" (the native engine). `NAT` is what P2PRC's
 * Go nodes read as "lends no frp port": a node behind NAT asks a `NAT: false` node's /FRPPort and fails
 * on anything but a port number, so only a node that lends one (an `--open` host) says false.
 * IPV6 is left empty: P2PRC treats entries with the same IPV6 as one node whatever their port
 * (p2p/iptable.go, RemoveDuplicates) and pings IPV6 first, which would merge nodes of one machine.
 */
export function selfEntry(input: SelfEntryInput): IpTableEntry {
  const local = localAddresses();
  const proxied = input.proxied;
  const IPV4 = proxied ? proxied.host : (input.advertise ?? local.ipv4);
  const ServerPort = String(proxied ? proxied.port : input.serverPort);
  const IPV6 = '';
  return {
    // /ip_table answers anyone: who runs the node (often root) and the machine's name are opt-in.
    // The fields stay (P2PRC's Go nodes decode them as strings), empty by default.
    Name: input.name ?? (input.shareIdentity ? os.hostname() : ''),
    MachineUsername: input.shareIdentity ? safeUsername() : '',
    IPV4,
    IPV6,
    Latency: 0,
    Download: 0,
    Upload: 0,
    ServerPort,
    UDPServerPort: input.udpServerPort ? String(input.udpServerPort) : '',
    BareMetalSSHPort: '',
    NAT: !input.lendsFrpPort,
    EscapeImplementation: proxied ? (proxied.engine === 'native' ? 'P2PRC' : 'FRP') : '',
    ProxyServer: input.proxyServer ?? false,
    UnSafeMode: false,
    PublicKey: '',
    CustomInformation:
      input.reverseProxy !== undefined
        ? encodeCustomInfo({ IPV4, IPV6, ServerPort }, input.reverseProxy)
        : (input.customInformation ?? ''),
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

/** The address clients should dial: the operator's, the bound one, or this machine's first public one. */
export function detectPublicHost(bind: string, explicit?: string): string {
  if (explicit) return explicit;
  if (bind !== '0.0.0.0' && bind !== '::' && net.isIP(bind)) return bind;
  return localAddresses().ipv4;
}
