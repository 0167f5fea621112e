import type { Argv } from 'yargs';
import { NodeServer } from '../node/server.js';
import { selfEntry } from '../node/iptable.js';
import { VERSION } from '../version.js';
import { stdio, untilSignal } from './output.js';

export const usage = 'p2prc -s [--port 8088]';
export const describe = 'Start only the P2PRC node server (GET /server_info, GET /ip_table), without a reverse proxy.';

export function configure(y: Argv): Argv {
  return y
    .option('server', { alias: 's', type: 'boolean', demandOption: true, describe: 'start the node server' })
    .option('port', { type: 'number', default: 8088, describe: 'node server port' })
    .option('bind', { type: 'string', default: '0.0.0.0', describe: 'node server address' })
    .example('p2prc -s --port 8088', 'serve this node\'s IP table on port 8088');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const node: NodeServer = new NodeServer(() => selfEntry({ serverPort: node.port }), () => ({ name: 'p2prc', version: VERSION, role: 'node' }));
  const port = await node.listen(args.port as number, args.bind as string);
  out.out(args.json ? JSON.stringify({ event: 'node-started', port }) : `Node server: http://${args.bind as string}:${port}/ip_table`);
  await untilSignal();
  await node.close();
  return 0;
}
