import { IpTableExchange } from '../node/exchange.js';
import type { IpTableEntry } from '../node/iptable.js';
import type { PeerEntry } from '../node/validate.js';
import { RecordStore } from '../store/index.js';

export interface DiscoveryOptions {
  configDir: string;
  self: () => IpTableEntry;
  bootstrap: string[];
  intervalMs?: number;
  staleMs?: number;
  log?: (line: string) => void;
}

const MAX_PROXIES_PER_ROUND = 64;

/** The reverse_proxy_server.json record for a proxy learned from a peer's IP table. */
export function serverRecordFrom(entry: PeerEntry, source: string, now: string) {
  const info = entry.ReverseProxy!;
  return {
    id: `${entry.IPV4 || entry.IPV6}:${info.ControlPort}`,
    address: entry.IPV4 || entry.IPV6,
    controlPort: info.ControlPort,
    fingerprint: info.Fingerprint || null,
    tls: info.Tls,
    version: info.Version || null,
    engine: info.Engine,
    source,
    firstSeen: now,
    lastSeen: now,
    open: info.Open,
    ...(info.Open && info.Token ? { token: info.Token } : {}),
    acceptsClients: info.AcceptsClients,
    freePorts: info.FreePorts,
    clients: info.Clients,
  };
}

/**
 * Runs the IP table exchange for a node server and records every reverse proxy it hears of in
 * reverse_proxy_server.json (at most once per proxy per round, so a busy network does not thrash it).
 */
export function startDiscovery(o: DiscoveryOptions): IpTableExchange {
  const exchange = new IpTableExchange({ self: o.self, bootstrap: o.bootstrap, ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}), ...(o.staleMs ? { staleMs: o.staleMs } : {}) });
  const store = new RecordStore(o.configDir);
  let seen = new Set<string>();
  exchange.on('round', () => (seen = new Set()));
  exchange.on('log', (line) => o.log?.(line));
  exchange.on('proxy', (entry, source) => {
    const record = serverRecordFrom(entry, source, new Date().toISOString());
    // A peer cannot flood the records: a bounded number of proxies is written per round.
    if (seen.has(record.id) || seen.size >= MAX_PROXIES_PER_ROUND) return;
    seen.add(record.id);
    void store.upsertServer(record).catch((err: Error) => o.log?.(`cannot record proxy ${record.id}: ${err.message}`));
  });
  exchange.start();
  return exchange;
}
