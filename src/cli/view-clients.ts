import type { Argv } from 'yargs';
import type { TunnelView } from '../index.js';
import { configDirArg, loadViews } from './lib.js';
import { ago, formatTable, stdio } from './output.js';

export const usage = 'p2prc --view-clients [--json]';
export const describe =
  'Clients and tunnels of the host running on this machine, live from its admin API (--admin-port); the records otherwise.';

export function configure(y: Argv): Argv {
  return y
    .option('view-clients', { type: 'boolean', describe: "list the host's clients and tunnels" })
    .example('p2prc --view-clients', 'who is connected, which ports are open, visitors and bytes')
    .example('p2prc --view-clients --json', 'the same for scripts');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The live tunnel table, shared with --view-rpm. */
export function tunnelTable(tunnels: Array<TunnelView & { pid?: number }>): string {
  return formatTable(
    ['name', 'owner', 'public', 'target', 'proto', 'engine', 'visitors', 'total', 'in', 'out', 'since'],
    tunnels.map((t) => [
      t.name,
      t.owner,
      t.domain ?? (t.publicPort === null ? '-' : String(t.publicPort)),
      t.target ?? '-',
      t.protocol,
      t.engine,
      String(t.visitorsNow),
      String(t.visitorsTotal),
      bytes(t.bytesIn),
      bytes(t.bytesOut),
      t.online ? ago(t.since) : 'offline',
    ]),
  );
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const lib = await loadViews();
  const configDir = configDirArg(lib, args);
  const view = await lib.viewClients(configDir);
  if (args.json) {
    out.out(JSON.stringify({ configDir, ...view }, null, 2));
    return 0;
  }
  if (view.source === 'records') {
    // Without a host's admin API nothing tells who is connected now: say so, and what the records do show.
    out.err(
      `live view unavailable: ${view.reason}. Connected clients are shown only by a host started with --admin-port; below is what the records in ${configDir} hold.`,
    );
    if (view.hosts.length === 0)
      out.out(`No host started from ${configDir} is running (its records list none); clients are not recorded here.`);
    else
      out.out(
        formatTable(
          ['host', 'engine', 'tls', 'pid', 'last recorded'],
          view.hosts.map((h) => [
            lib.formatAddress(h.address, h.controlPort),
            h.engine,
            h.tls ? 'on' : 'off',
            String(h.pid),
            ago(h.lastSeen),
          ]),
        ),
      );
    if (view.tunnels.length > 0) {
      out.out('');
      out.out(
        formatTable(
          ['tunnel', 'public', 'engine', 'since'],
          view.tunnels.map((m) => [m.name, String(m.publicPort ?? '-'), m.engine, ago(m.createdAt)]),
        ),
      );
    }
    return 0;
  }
  out.out(`Host admin API ${view.url} (pid ${view.pid})`);
  out.out(
    view.clients.length === 0
      ? 'No clients connected.'
      : formatTable(
          ['client', 'address', 'since', 'tunnels', 'in', 'out'],
          view.clients.map((c) => [
            c.name,
            c.address,
            ago(c.since),
            String(c.tunnels),
            bytes(c.bytesIn),
            bytes(c.bytesOut),
          ]),
        ),
  );
  out.out('');
  out.out(view.tunnels.length === 0 ? 'No tunnels open.' : tunnelTable(view.tunnels));
  return 0;
}
