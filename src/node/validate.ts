import net from 'node:net';
import type { IpTableEntry } from './iptable.js';

/** What a node server publishes about the reverse proxy it runs (no secrets unless the host is open). */
export interface ReverseProxyInfo {
  ControlPort: number;
  Fingerprint: string;
  Tls: boolean;
  Engine: 'native' | 'frp';
  /** Any client may connect with the token given here; otherwise a token must be configured. */
  Open: boolean;
  Token?: string;
  AcceptsClients: boolean;
  FreePorts: number;
  Clients: number;
  Version: string;
}

export type PeerEntry = IpTableEntry & { ReverseProxy?: ReverseProxyInfo };

export interface TableLimits {
  maxEntries: number;
  maxString: number;
  /** PublicKey (an SSH key on P2PRC) and CustomInformation (free text; p2prc's reverse-proxy JSON). */
  maxLongString: number;
}

export const DEFAULT_LIMITS: TableLimits = { maxEntries: 1_000, maxString: 256, maxLongString: 4096 };
const LONG = new Set(['PublicKey', 'CustomInformation']);

const STRINGS = [
  'Name',
  'MachineUsername',
  'IPV4',
  'IPV6',
  'ServerPort',
  'UDPServerPort',
  'BareMetalSSHPort',
  'EscapeImplementation',
  'PublicKey',
  'CustomInformation',
] as const;

function validInfo(v: unknown, limits: TableLimits): ReverseProxyInfo | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const port = r.ControlPort;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) return undefined;
  const str = (x: unknown) => (typeof x === 'string' && x.length <= limits.maxString ? x : undefined);
  const num = (x: unknown) => (Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : 0);
  return {
    ControlPort: port as number,
    Fingerprint: str(r.Fingerprint) ?? '',
    Tls: r.Tls === true,
    Engine: r.Engine === 'frp' ? 'frp' : 'native',
    Open: r.Open === true,
    ...(r.Open === true && str(r.Token) ? { Token: str(r.Token)! } : {}),
    AcceptsClients: r.AcceptsClients !== false,
    FreePorts: num(r.FreePorts),
    Clients: num(r.Clients),
    Version: str(r.Version) ?? '',
  };
}

/** Validates one entry; returns it normalised, or the reason it was rejected. */
export function validateEntry(v: unknown, limits: TableLimits = DEFAULT_LIMITS): PeerEntry | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'entry is not an object';
  const e = v as Record<string, unknown>;
  for (const k of STRINGS) {
    const x = e[k] ?? '';
    const max = LONG.has(k) ? limits.maxLongString : limits.maxString;
    if (typeof x !== 'string') return `${k} is not a string`;
    if (x.length > max) return `${k} longer than ${max} characters`;
  }
  if (!e.IPV4 && !e.IPV6) return 'entry has no address';
  // The node polls what entries name: an address field that is not an IP literal, or a port that is
  // not a number, could carry a path and a query into the URL (blind SSRF), or a name to resolve.
  if (e.IPV4 && !net.isIPv4(e.IPV4 as string)) return `IPV4 ${JSON.stringify(e.IPV4)} is not an IPv4 address`;
  if (e.IPV6 && (!net.isIPv6(e.IPV6 as string) || (e.IPV6 as string).includes('%')))
    return `IPV6 ${JSON.stringify(e.IPV6)} is not an IPv6 address`;
  const port = /^[1-9][0-9]{0,4}$/.test(e.ServerPort as string) ? Number(e.ServerPort) : 0;
  if (port < 1 || port > 65535) return `ServerPort ${JSON.stringify(e.ServerPort)} is not a port (1-65535)`;
  for (const k of ['Latency', 'Download', 'Upload'] as const)
    if (e[k] !== undefined && typeof e[k] !== 'number') return `${k} is not a number`;
  for (const k of ['NAT', 'ProxyServer', 'UnSafeMode'] as const)
    if (e[k] !== undefined && typeof e[k] !== 'boolean') return `${k} is not a boolean`;
  const entry: PeerEntry = {
    Name: (e.Name as string) ?? '',
    MachineUsername: (e.MachineUsername as string) ?? '',
    IPV4: (e.IPV4 as string) ?? '',
    IPV6: (e.IPV6 as string) ?? '',
    // Go decodes Latency into a time.Duration (int64 ns): a fraction would spoil the entry for Go peers.
    Latency: Math.round((e.Latency as number) ?? 0),
    Download: (e.Download as number) ?? 0,
    Upload: (e.Upload as number) ?? 0,
    ServerPort: String(port),
    UDPServerPort: (e.UDPServerPort as string) ?? '',
    BareMetalSSHPort: (e.BareMetalSSHPort as string) ?? '',
    NAT: e.NAT === true,
    EscapeImplementation: (e.EscapeImplementation as string) ?? '',
    ProxyServer: e.ProxyServer === true,
    UnSafeMode: e.UnSafeMode === true,
    PublicKey: (e.PublicKey as string) ?? '',
    CustomInformation: (e.CustomInformation as string) ?? '',
  };
  if (entry.ProxyServer) {
    // After a hop through a Go node only CustomInformation is left (see custom-info.ts).
    const info = validInfo(e.ReverseProxy, limits) ?? validInfo(decodeCustomInfo(entry), limits);
    if (info) entry.ReverseProxy = info;
  }
  return entry;
}

/** Validates a whole table from a peer: wrong shapes rejected, entries capped, each bad entry reported. */
export function sanitizeTable(
  v: unknown,
  limits: TableLimits = DEFAULT_LIMITS,
): { entries: PeerEntry[]; problems: string[] } {
  if (typeof v !== 'object' || v === null || !Array.isArray((v as Record<string, unknown>).ip_address)) {
    return { entries: [], problems: ['not an IP table ({"ip_address": [...]})'] };
  }
  const list = (v as { ip_address: unknown[] }).ip_address;
  const problems: string[] = [];
  if (list.length > limits.maxEntries)
    problems.push(`${list.length} entries, only the first ${limits.maxEntries} read`);
  const entries: PeerEntry[] = [];
  for (const item of list.slice(0, limits.maxEntries)) {
    const r = validateEntry(item, limits);
    if (typeof r === 'string') problems.push(r);
    else entries.push(r);
  }
  return { entries, problems };
}

export function entryIdentity(e: IpTableEntry): string {
  return `${e.IPV4 || e.IPV6}:${e.ServerPort}`;
}

/**
 * Reverse-proxy details carried in P2PRC's free-text field, CustomInformation (pure).
 *
 * Go nodes decode entries into their IpAddress struct (p2p/iptable.go), so a field p2prc adds, such
 * as ReverseProxy, is gone after one Go hop; CustomInformation survives. But P2PRC's merge
 * (p2p/speedtest.go, SpeedTestUpdatedIPTable) overwrites the CustomInformation of its own entries
 * with that of entries it receives, so the text can land on another node's entry: it therefore
 * names the entry it belongs to ("For": IPV4-or-IPV6:ServerPort) and is ignored anywhere else.
 */

export const CUSTOM_INFO_KIND = 'p2prc/reverse-proxy';

export interface CustomInfo {
  Kind: typeof CUSTOM_INFO_KIND;
  For: string;
  ReverseProxy: unknown;
}

export function entryAddress(e: Pick<IpTableEntry, 'IPV4' | 'IPV6' | 'ServerPort'>): string {
  return `${e.IPV4 || e.IPV6}:${e.ServerPort}`;
}

/** The CustomInformation text for an entry with these reverse-proxy details. */
export function encodeCustomInfo(
  entry: Pick<IpTableEntry, 'IPV4' | 'IPV6' | 'ServerPort'>,
  reverseProxy: unknown,
): string {
  const info: CustomInfo = { Kind: CUSTOM_INFO_KIND, For: entryAddress(entry), ReverseProxy: reverseProxy };
  return JSON.stringify(info);
}

/** The reverse-proxy details in an entry's CustomInformation, if the text is ours and is about this entry. */
export function decodeCustomInfo(
  entry: Pick<IpTableEntry, 'IPV4' | 'IPV6' | 'ServerPort' | 'CustomInformation'>,
): unknown {
  const text = entry.CustomInformation;
  if (!text || text[0] !== '{') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined; // free text of some other P2PRC user: not ours, not an error
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const info = v as Partial<CustomInfo>;
  if (info.Kind !== CUSTOM_INFO_KIND || info.For !== entryAddress(entry)) return undefined;
  return info.ReverseProxy;
}
