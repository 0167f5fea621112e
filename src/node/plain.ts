import { NodeServer } from './node-server.js';
import { selfEntry } from './iptable.js';
import type { IpTableExchange } from './exchange.js';
import { VERSION } from '../version.js';
import { startDiscovery } from './discovery.js';

export interface PlainNodeOptions {
  configDir: string;
  port: number;
  bind: string;
  bootstrap: string[];
  exchangeIntervalMs: number;
  staleMs: number;
  /** Host and user name in /ip_table and /server_info (off: empty strings). */
  shareIdentity?: boolean;
  log?: (line: string) => void;
  /** A corrupt ip_table.json, once per change. */
  warn?: (line: string) => void;
}

export interface PlainNode {
  /** The bound node server port. */
  port: number;
  exchange: IpTableExchange;
  close(): Promise<void>;
}

/** `p2prc -s`: the node server alone, exchanging IP tables and recording the proxies it learns in reverse_proxy_server.json. */
export async function runPlainNode(o: PlainNodeOptions): Promise<PlainNode> {
  let exchange: IpTableExchange | undefined;
  // A node bound to one address advertises that address; bound to all, this machine's first public one.
  const advertise = o.bind !== '0.0.0.0' && o.bind !== '::' ? o.bind : undefined;
  const node: NodeServer = new NodeServer(
    () => selfEntry({ serverPort: node.port, shareIdentity: !!o.shareIdentity, ...(advertise ? { advertise } : {}) }),
    () => ({ name: 'p2prc', version: VERSION, role: 'node' }),
    () => exchange?.peers() ?? [],
    { learn: (entries, source) => exchange?.learn({ ip_address: entries }, source), shareIdentity: !!o.shareIdentity },
  );
  const port = await node.listen(o.port, o.bind);
  exchange = startDiscovery({
    configDir: o.configDir,
    self: () => node.table().ip_address[0]!,
    bootstrap: o.bootstrap,
    intervalMs: o.exchangeIntervalMs,
    staleMs: o.staleMs,
    log: o.log,
    ...(o.warn ? { warn: o.warn } : {}),
  });
  const ex = exchange;
  return {
    port,
    exchange: ex,
    async close() {
      await ex.stop();
      await node.close();
    },
  };
}
