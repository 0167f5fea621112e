import type { IpTableEntry } from './iptable.js';

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
export function encodeCustomInfo(entry: Pick<IpTableEntry, 'IPV4' | 'IPV6' | 'ServerPort'>, reverseProxy: unknown): string {
  const info: CustomInfo = { Kind: CUSTOM_INFO_KIND, For: entryAddress(entry), ReverseProxy: reverseProxy };
  return JSON.stringify(info);
}

/** The reverse-proxy details in an entry's CustomInformation, if the text is ours and is about this entry. */
export function decodeCustomInfo(entry: Pick<IpTableEntry, 'IPV4' | 'IPV6' | 'ServerPort' | 'CustomInformation'>): unknown {
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
