import net from 'node:net';
import { P2prcError } from '../errors.js';
import {
  addIpTableEntry,
  ensureGoKeys,
  ipTablePath,
  readIpTableFile,
  removeIpTableEntries,
  type TableEntry,
} from '../store/index.js';
import { formatAddress } from '../protocol/address.js';

/** P2PRC's default node server port (config/generate/generate.go) and what `--as` uses without a port. */
export const P2PRC_DEFAULT_PORT = 8088;

export interface NodeAddress {
  host: string;
  port: number;
}

function checkPort(text: string, what: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535)
    throw new P2prcError('E_USAGE', `invalid ${what} "${text}" (1-65535)`);
  return port;
}

/**
 * `--as <ip[:port]>` with P2PRC's separate `--p <port>`: "203.0.113.5", "203.0.113.5:8088",
 * "[2001:db8::1]:8088", or a bare IPv6 address. Both ports given and different is an error; the host
 * must be an IP literal (P2PRC's table holds addresses, not names). `flag` names the option in errors.
 */
export function parseNodeAddress(text: string, separatePort?: string | number, flag = '--add-server'): NodeAddress {
  const s = text.trim();
  let host = s;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) [host, port] = [bracketed[1]!, bracketed[2]];
  else if (s.split(':').length === 2) [host, port] = s.split(':') as [string, string];
  if (net.isIP(host) === 0) {
    throw new P2prcError('E_USAGE', `invalid ${flag} address "${text}" (an IP address: ip, ip:port or [ipv6]:port)`);
  }
  const fromAddress = port !== undefined ? checkPort(port, `port in ${flag}`) : undefined;
  const fromFlag =
    separatePort !== undefined && separatePort !== '' ? checkPort(String(separatePort), '--p') : undefined;
  if (fromAddress !== undefined && fromFlag !== undefined && fromAddress !== fromFlag) {
    throw new P2prcError('E_USAGE', `two ports for one server: ${fromAddress} in ${flag} and ${fromFlag} in --p`);
  }
  return { host, port: fromAddress ?? fromFlag ?? P2PRC_DEFAULT_PORT };
}

/** An entry as P2PRC's `--as` writes one (cmd/action.go): the address and port, every other field empty. */
export function addedEntry(a: NodeAddress): TableEntry {
  const v6 = net.isIPv6(a.host);
  return {
    Name: '',
    MachineUsername: '',
    IPV4: v6 ? '' : a.host,
    IPV6: v6 ? a.host : '',
    Latency: 0,
    Download: 0,
    Upload: 0,
    ServerPort: String(a.port),
    UDPServerPort: '',
    BareMetalSSHPort: '',
    NAT: false,
    EscapeImplementation: '',
    ProxyServer: false,
    UnSafeMode: false,
    PublicKey: '',
    CustomInformation: '',
  };
}

/** `--ls`: the nodes in ip_table.json (offline: what the last exchange round, or `--as`, left there). */
export async function listNodes(configDir: string): Promise<{ file: string; nodes: TableEntry[] }> {
  return { file: ipTablePath(configDir), nodes: (await readIpTableFile(configDir)).ip_address };
}

/** `--as`: records a node in ip_table.json; a running node polls it in its next exchange round. */
export async function addNode(
  configDir: string,
  address: string,
  separatePort?: string | number,
): Promise<{ file: string; added: boolean; entry: TableEntry }> {
  const entry = addedEntry(parseNodeAddress(address, separatePort));
  // P2PRC's Go finds the table through config.json's IPTable: `--as` on a fresh directory sets it.
  await ensureGoKeys(configDir);
  return { file: ipTablePath(configDir), added: await addIpTableEntry(configDir, entry), entry };
}

/** `--remove-server`: removes a node (by address and server port) from ip_table.json; E_NOT_FOUND when it is not there. */
export async function removeNode(
  configDir: string,
  address: string,
  separatePort?: string | number,
): Promise<{ file: string; server: string; removed: number }> {
  const a = parseNodeAddress(address, separatePort, '--remove-server');
  const file = ipTablePath(configDir);
  const same = (v: unknown) => typeof v === 'string' && net.isIP(v) !== 0 && sameIp(v, a.host);
  const removed = await removeIpTableEntries(
    configDir,
    (e) => (same(e.IPV4) || same(e.IPV6)) && String(e.ServerPort) === String(a.port),
  );
  const first = removed[0];
  if (!first)
    throw new P2prcError('E_NOT_FOUND', `no node at ${formatAddress(a.host, a.port)} in ${file}; --ls lists them`);
  // As the table spells it (an IPv6 address may have been typed another way).
  const host = same(first.IPV4) ? String(first.IPV4) : String(first.IPV6);
  return { file, server: formatAddress(host, a.port), removed: removed.length };
}

/** One IP however it is written (IPv6 case and zero compression). */
function sameIp(a: string, b: string): boolean {
  const list = new net.BlockList();
  list.addAddress(a, net.isIPv6(a) ? 'ipv6' : 'ipv4');
  return list.check(b, net.isIPv6(b) ? 'ipv6' : 'ipv4');
}
