import { formatAddress } from '../protocol/address.js';
import type { HostPort } from '../protocol/parse-address.js';
import { requestCapped } from '../node/http-request.js';
import { readIpTableFile } from '../store/index.js';

/** GET /FRPPort on a node server: the port it lends, or undefined for any other answer. */
export async function askLentPort(node: HostPort): Promise<number | undefined> {
  try {
    const r = await requestCapped(`http://${formatAddress(node.host, node.port)}/FRPPort`, {}, 5_000, 64);
    const body = r.body.trim();
    const port = Number(body);
    return r.status === 200 && /^\d{1,5}$/.test(body) && port >= 1 && port <= 65535 ? port : undefined;
  } catch {
    return undefined; // not a node server that lends ports
  }
}

/**
 * Nodes of the IP table that may lend an frp port, as P2PRC's MapPort picks them: `NAT: false`, and
 * not a p2prc host (no reverse-proxy details: those are ranked as hosts, with a token).
 */
export async function lendingNodes(configDir: string): Promise<HostPort[]> {
  const { ip_address: entries } = await readIpTableFile(configDir);
  return entries.flatMap((e) => {
    const port = Number(e.ServerPort);
    const host = String(e.IPV4 || e.IPV6 || '');
    const p2prcHost = e.ReverseProxy !== undefined || String(e.CustomInformation ?? '').includes('p2prc/reverse-proxy');
    return e.NAT === false && !p2prcHost && host && Number.isInteger(port) && port > 0 && port < 65536
      ? [{ host, port }]
      : [];
  });
}
