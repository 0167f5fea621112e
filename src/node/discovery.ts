import { isP2prcError } from '../errors.js';
import { IpTableExchange } from './exchange.js';
import type { IpTableEntry } from './iptable.js';
import type { PeerEntry } from './validate.js';
import { formatAddress } from '../protocol/address.js';
import {
  RecordStore,
  ensureGoKeys,
  readSecrets,
  ipTablePath,
  modifyIpTableFile,
  readIpTableFile,
  type ServerRecord,
  type TableEntry,
} from '../store/index.js';
import { entryBase, nodeBase } from './exchange.js';

export interface DiscoveryOptions {
  configDir: string;
  self: () => IpTableEntry;
  bootstrap: string[];
  intervalMs?: number;
  staleMs?: number;
  log?: (line: string) => void;
  /** A corrupt ip_table.json: its E_CONFIG line, once per change (the node keeps running on what it knows). */
  warn?: (line: string) => void;
}

const MAX_PROXIES_PER_ROUND = 64;
/** Nodes read from ip_table.json per round: the file is ours, but other tools may write it too. */
const MAX_FILE_TARGETS = 1_000;

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
    peer: true,
    firstSeen: now,
    lastSeen: now,
    open: info.Open,
    ...(info.Open && info.Token ? { token: info.Token } : {}),
    acceptsClients: info.AcceptsClients,
    freePorts: info.FreePorts,
    clients: info.Clients,
  };
}

/** The nodes in <config dir>/p2p/iptable/ip_table.json, as "host:port", for the exchange to poll. */
export async function tableFileTargets(configDir: string): Promise<string[]> {
  const { ip_address: entries } = await readIpTableFile(configDir);
  return entries
    .slice(0, MAX_FILE_TARGETS)
    .filter((e) => (e.IPV4 || e.IPV6) && e.ServerPort)
    .map(fileEntryAddress);
}

/** "host:port" of an ip_table.json entry: one of ours, or one read back from the file (whose fields are unchecked). */
function fileEntryAddress(e: { IPV4?: unknown; IPV6?: unknown; ServerPort?: unknown }): string {
  return e.IPV4 ? `${String(e.IPV4)}:${String(e.ServerPort)}` : `[${String(e.IPV6)}]:${String(e.ServerPort)}`;
}

/**
 * Writes what the node knows to ip_table.json after a round. Entries of the file that were not polled
 * this round (added by `--as` meanwhile, or by another process) stay, so nothing added is lost;
 * polled ones stay only if they answered, as P2PRC's speed test keeps only nodes that answer. Nodes
 * peers told us of are written once they answered a poll themselves: the file's nodes are polled every
 * round, so an unverified address a peer made up must not get there.
 */
async function writeTableFile(configDir: string, exchange: IpTableExchange, polled: string[]): Promise<string> {
  const [self, ...peers] = exchange.table().ip_address;
  const entries = [self!, ...peers.filter((e) => exchange.verified(entryBase(e) ?? ''))];
  const drop = new Set<string | undefined>([...polled, ...entries.map((e) => nodeBase(fileEntryAddress(e)))]);
  drop.delete(undefined); // an entry of the file that names no node stays, as it was
  await modifyIpTableFile(configDir, (file) => {
    const kept = file.ip_address.filter((e) => !drop.has(nodeBase(fileEntryAddress(e))));
    file.ip_address = [...entries.map((e): TableEntry => ({ ...e })), ...kept];
  });
  // P2PRC's Go finds this file through config.json's IPTable (a plain node never ran ensureConfigDir).
  await ensureGoKeys(configDir);
  return ipTablePath(configDir);
}

/**
 * Runs the IP table exchange for a node server and records every reverse proxy it hears of in
 * reverse_proxy_server.json (at most once per proxy per round, so a busy network does not thrash it).
 * The table is kept in P2PRC's ip_table.json under the config dir too, and the nodes found there are
 * polled each round.
 */
export function startDiscovery(o: DiscoveryOptions): IpTableExchange & { recorded(): Promise<void> } {
  // Said once per change: every round reads and writes the file, and a corrupt one is left as it is.
  let said: string | undefined;
  const watched = <T>(work: Promise<T>): Promise<T> =>
    work.then(
      (v) => ((said = undefined), v),
      (err: unknown) => {
        if (isP2prcError(err) && err.code === 'E_CONFIG' && `E_CONFIG: ${err.message}` !== said) {
          said = `E_CONFIG: ${err.message}`;
          (o.warn ?? o.log)?.(said);
        }
        throw err;
      },
    );
  const exchange: IpTableExchange = new IpTableExchange({
    self: o.self,
    bootstrap: o.bootstrap,
    extraTargets: () => watched(tableFileTargets(o.configDir)),
    persist: (targets) => watched(writeTableFile(o.configDir, exchange, targets)),
    ...(o.intervalMs ? { intervalMs: o.intervalMs } : {}),
    ...(o.staleMs ? { staleMs: o.staleMs } : {}),
  });
  const store = new RecordStore(o.configDir);
  // Pins read per write, not once: a connection made meanwhile may have pinned the address.
  const upsert = async (record: ServerRecord) => {
    const pins = (await readSecrets(o.configDir)).fingerprints ?? {};
    return store.upsertPeerServer(record, (address, port) => pins[formatAddress(address, port)] !== undefined);
  };
  let seen = new Set<string>();
  const writes = new Set<Promise<void>>();
  exchange.on('round', () => (seen = new Set()));
  exchange.on('log', (line) => o.log?.(line));
  exchange.on('proxy', (entry, source) => {
    const record = serverRecordFrom(entry, source, new Date().toISOString());
    // A peer cannot flood the records: a bounded number of proxies is written per round.
    if (seen.has(record.id) || seen.size >= MAX_PROXIES_PER_ROUND) return;
    seen.add(record.id);
    const write = upsert(record).then(
      () => undefined,
      (err: Error) => o.log?.(`cannot record proxy ${record.id}: ${err.message}`),
    );
    writes.add(write);
    void write.finally(() => writes.delete(write));
  });
  exchange.start();
  // What a round learnt is in reverse_proxy_server.json once these writes are done (auto mode ranks from the file).
  return Object.assign(exchange, { recorded: async () => void (await Promise.all(writes)) });
}
