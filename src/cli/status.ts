import path from 'node:path';
import type { Argv } from 'yargs';
import type { TunnelStatus } from '../index.js';
import { configDirArg, loadViews } from './lib.js';
import { formatTable, stdio } from './output.js';
import { emptyReason, serverTable } from './view-rps.js';

export const words = ['status'];
export const usage = 'p2prc status [--json]';
export const describe =
  "One screen: the reverse-proxy hosts (reverse_proxy_server.json, probed) and this machine's tunnels by name (reverse_proxy_mapping.json), each active one probed with a TCP connect (2 s, in parallel); live counts from a client's admin API when it runs with --admin-port.";

export function configure(y: Argv): Argv {
  return y
    .example('p2prc status', 'hosts, then tunnels: NAME TYPE LOCAL PUBLIC HOST STATE REACHABLE')
    .example(
      "p2prc status --json | jq '.tunnels[] | select(.reachable | not) | .name'",
      'the names of tunnels not reachable now',
    );
}

/** The tunnels as a table; VISITORS (now/total) when the owner's admin API answered. */
export function statusTable(rows: TunnelStatus[]): string {
  const live = rows.some((r) => r.live);
  return formatTable(
    ['name', 'type', 'local', 'public', 'host', 'state', 'reachable', ...(live ? ['visitors'] : [])],
    rows.map((r) => [
      r.name,
      r.type,
      r.local,
      r.public || '-',
      r.host,
      r.state,
      r.reachable ? 'yes' : 'no',
      ...(live ? [r.live ? `${r.live.visitorsNow}/${r.live.visitorsTotal}` : '-'] : []),
    ]),
  );
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const lib = await loadViews();
  const configDir = configDirArg(lib, args);
  const status = await lib.viewStatus(configDir, 2_000);
  for (const e of status.errors) out.err(`admin API not answering: ${e}`);
  if (args.json) {
    const tunnels = status.tunnels.map(({ name, type, local, public: pub, host, state, reachable }) => ({
      name,
      type,
      local,
      public: pub,
      host,
      state,
      reachable,
    }));
    out.out(JSON.stringify({ hosts: status.hosts, tunnels }, null, 2));
    return 0;
  }
  out.out('Hosts:');
  out.out(
    status.hosts.length > 0
      ? serverTable(status.hosts)
      : `No reverse-proxy hosts known yet (${emptyReason(path.join(configDir, 'reverse_proxy_server.json'))}).`,
  );
  out.out('');
  out.out('Tunnels:');
  out.out(
    status.tunnels.length > 0
      ? statusTable(status.tunnels)
      : `No tunnels recorded yet (${emptyReason(path.join(configDir, 'reverse_proxy_mapping.json'))}).`,
  );
  return 0;
}
