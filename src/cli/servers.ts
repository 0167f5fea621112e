import type { Argv } from 'yargs';
import { configDirArg, loadLibrary } from './lib.js';
import type { Command } from './main.js';
import { formatTable, stdio } from './output.js';
import { repairIfAsked, repairOption } from './repair.js';

/** P2PRC's server list (cmd/flags.go): --ls/--ListServers and --as/--AddServer with --p, offline on ip_table.json. */
export const listServersCommand: Command = {
  usage: 'p2prc --ls [--json]',
  describe:
    "List the nodes in <config dir>/p2p/iptable/ip_table.json (P2PRC's --ListServers), without contacting them.",
  configure(y: Argv): Argv {
    return repairOption(y)
      .option('ls', { alias: ['list-servers', 'ListServers'], type: 'boolean', describe: 'list known nodes' })
      .example('p2prc --ls', 'table of the nodes this machine knows')
      .example('p2prc --ls --json', "the IP table as JSON, P2PRC's field names");
  },
  async run(args, verbose) {
    const out = stdio(verbose);
    const lib = await loadLibrary();
    await repairIfAsked(lib, args, out);
    const { file, nodes } = await lib.listNodes(configDirArg(lib, args));
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
        nodes.map((n) => [
          cell(n.Name),
          cell(n.IPV4 || n.IPV6),
          cell(n.ServerPort),
          n.NAT === true ? 'yes' : 'no',
          cell(n.EscapeImplementation),
          n.ProxyServer === true ? 'yes' : 'no',
        ]),
      ),
    );
    return 0;
  },
};

export const addServerCommand: Command = {
  usage: 'p2prc --as <ip[:port]> [--p <port>]',
  describe:
    "Add a node to <config dir>/p2p/iptable/ip_table.json (P2PRC's --AddServer); a running node exchanges with it in its next round.",
  configure(y: Argv): Argv {
    return repairOption(y)
      .option('as', {
        alias: ['add-server', 'AddServer'],
        type: 'string',
        demandOption: true,
        describe: 'node address: ip, ip:port or [ipv6]:port',
      })
      .option('p', {
        alias: 'Ports',
        type: 'string',
        describe: "its node server port, as P2PRC's separate port flag (default 8088)",
      })
      .example('p2prc --as 203.0.113.5 --p 8088', 'the P2PRC way')
      .example('p2prc --as 203.0.113.5:8088', 'the same');
  },
  async run(args, verbose) {
    const out = stdio(verbose);
    const lib = await loadLibrary();
    await repairIfAsked(lib, args, out);
    const r = await lib.addNode(configDirArg(lib, args), String(args.as), args.p as string | undefined);
    const where = `${String(r.entry.IPV4 || `[${String(r.entry.IPV6)}]`)}:${String(r.entry.ServerPort)}`;
    if (args.json)
      out.out(JSON.stringify({ event: r.added ? 'server-added' : 'server-known', server: where, file: r.file }));
    else out.out(r.added ? `Added ${where} to ${r.file}` : `${where} is already in ${r.file}`);
    return 0;
  },
};

export const removeServerCommand: Command = {
  usage: 'p2prc --remove-server <ip[:port]> [--p <port>]',
  describe:
    'Remove a node from <config dir>/p2p/iptable/ip_table.json (the reverse of --as); exit 5 (E_NOT_FOUND) when it is not there.',
  configure(y: Argv): Argv {
    return repairOption(y)
      .option('remove-server', {
        alias: ['rs', 'RemoveServer'],
        type: 'string',
        demandOption: true,
        requiresArg: true,
        describe: 'node address: ip, ip:port or [ipv6]:port (port default 8088)',
      })
      .option('p', { alias: 'Ports', type: 'string', describe: 'its node server port, as with --as' })
      .example('p2prc --rs 203.0.113.5:8088', 'forget that node')
      .example('p2prc --rs 203.0.113.5 --json', '{"event":"server-removed",...}');
  },
  async run(args, verbose) {
    const out = stdio(verbose);
    const lib = await loadLibrary();
    await repairIfAsked(lib, args, out);
    const r = await lib.removeNode(
      configDirArg(lib, args),
      String(args['remove-server']),
      args.p as string | undefined,
    );
    if (args.json) out.out(JSON.stringify({ event: 'server-removed', server: r.server, file: r.file }));
    else out.out(`Removed ${r.server} from ${r.file}`);
    return 0;
  },
};
