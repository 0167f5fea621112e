import type { Argv } from 'yargs';
import { addNode } from '../index.js';
import { resolveConfigDir } from '../store/index.js';
import { stdio } from './output.js';

export const usage = 'p2prc --as <ip[:port]> [--p <port>]';
export const describe = 'Add a node to <config dir>/p2p/iptable/ip_table.json (P2PRC\'s --AddServer); a running node exchanges with it in its next round.';

export function configure(y: Argv): Argv {
  return y
    .option('as', { alias: ['add-server', 'AddServer'], type: 'string', demandOption: true, describe: 'node address: ip, ip:port or [ipv6]:port' })
    .option('p', { alias: 'Ports', type: 'string', describe: 'its node server port, as P2PRC\'s separate port flag (default 8088)' })
    .example('p2prc --as 203.0.113.5 --p 8088', 'the P2PRC way')
    .example('p2prc --as 203.0.113.5:8088', 'the same');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const r = await addNode(resolveConfigDir(args['config-dir'] as string | undefined), String(args.as), args.p as string | undefined);
  const where = `${String(r.entry.IPV4 || `[${String(r.entry.IPV6)}]`)}:${String(r.entry.ServerPort)}`;
  if (args.json) out.out(JSON.stringify({ event: r.added ? 'server-added' : 'server-known', server: where, file: r.file }));
  else out.out(r.added ? `Added ${where} to ${r.file}` : `${where} is already in ${r.file}`);
  return 0;
}
