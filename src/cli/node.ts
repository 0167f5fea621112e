import type { Argv } from 'yargs';
import { configDirArg, loadLibrary } from './lib.js';
import { stdio, untilSignal } from './output.js';
import { discoveryArgs, discoveryOptions } from './discovery-options.js';
import { repairIfAsked, repairOption } from './repair.js';

/** src/cli/main.ts starts loading the library's modes while it parses this command's flags. */
export const preloadsLibrary = true;

export const usage = 'p2prc -s [--port 8088] [--bootstrap host:port ...]';
export const describe =
  'Start only the P2PRC node server (GET /server_info, GET /ip_table), exchanging IP tables with other nodes.';

export function configure(y: Argv): Argv {
  return repairOption(discoveryOptions(y))
    .option('server', { alias: 's', type: 'boolean', demandOption: true, describe: 'start the node server' })
    .option('port', { type: 'number', default: 8088, describe: 'node server port' })
    .option('bind', { type: 'string', default: '0.0.0.0', describe: 'node server address' })
    .example('p2prc -s --port 8088', "serve this node's IP table on port 8088")
    .example('p2prc -s --bootstrap 203.0.113.10:8088', 'learn the network (and its reverse proxies) from another node');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  // Listening from the start, as every long-running command does (see untilSignal).
  const signalled = untilSignal({ hangup: true });
  const lib = await loadLibrary();
  await repairIfAsked(lib, args, out);
  const node = await lib.runPlainNode({
    configDir: configDirArg(lib, args),
    port: args.port as number,
    bind: args.bind as string,
    ...discoveryArgs(args),
    log: verbose ? (m) => out.err(m) : undefined,
    warn: (m) => out.err(`warning: ${m}`),
  });
  out.out(
    args.json
      ? JSON.stringify({ event: 'node-started', port: node.port })
      : `Node server: http://${args.bind as string}:${node.port}/ip_table`,
  );
  await signalled;
  await node.close();
  return 0;
}
