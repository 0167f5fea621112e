import type { Argv } from 'yargs';
import { listNodes } from '../index.js';
import { resolveConfigDir } from '../store/index.js';
import { formatTable, stdio } from './output.js';

export const usage = 'p2prc --ls [--json]';
export const describe = 'List the nodes in <config dir>/p2p/iptable/ip_table.json (P2PRC\'s --ListServers), without contacting them.';

export function configure(y: Argv): Argv {
  return y
    .option('ls', { alias: ['list-servers', 'ListServers'], type: 'boolean', describe: 'list known nodes' })
    .example('p2prc --ls', 'table of the nodes this machine knows')
    .example('p2prc --ls --json', 'the IP table as JSON, P2PRC\'s field names');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const { file, nodes } = await listNodes(resolveConfigDir(args['config-dir'] as string | undefined));
  if (args.json) {
    out.out(JSON.stringify({ file, ip_address: nodes }, null, 2));
    return 0;
  }
  if (nodes.length === 0) {
    out.out(`No nodes known yet (${file} is empty); add one with --as <ip[:port]>.`);
    return 0;
  }
  const cell = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : String(v));
  out.out(
    formatTable(
      ['name', 'address', 'port', 'nat', 'escape', 'proxy server'],
      nodes.map((n) => [cell(n.Name), cell(n.IPV4 || n.IPV6), cell(n.ServerPort), n.NAT === true ? 'yes' : 'no', cell(n.EscapeImplementation), n.ProxyServer === true ? 'yes' : 'no']),
    ),
  );
  return 0;
}
