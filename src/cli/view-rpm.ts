import type { Argv } from 'yargs';
import type { MappingView } from '../index.js';
import { configDirArg, loadViews, type Views } from './lib.js';
import { ago, formatTable, stdio } from './output.js';
import { tunnelTable } from './view-clients.js';
import { emptyReason } from './view-rps.js';
import path from 'node:path';

export const usage = 'p2prc --view-rpm [--json] [--prune]';
export const describe =
  "List the tunnels in reverse_proxy_mapping.json: active, reconnecting (host lost, client retrying), stale (owner process gone) or closed; with a client's admin API up (--admin-port), its tunnels live.";

export function configure(y: Argv): Argv {
  return y
    .option('view-rpm', { alias: 'view-reverse-proxy-mapping', type: 'boolean', describe: 'list tunnel mappings' })
    .option('prune', { type: 'boolean', default: false, describe: 'remove closed and stale entries first' })
    .option('repair', {
      type: 'boolean',
      default: false,
      describe: 'move a corrupt record file aside (kept as .corrupt-<time>) first',
    })
    .example('p2prc --view-rpm', 'table of tunnels')
    .example('p2prc --view-rpm --prune --json', 'drop dead entries, print the rest as JSON');
}

/** The state column; a reconnecting tunnel says since when its host has been lost (UTC, and how long ago). */
export function stateText(m: MappingView, now = Date.now()): string {
  if (m.state !== 'reconnecting' || !m.reconnectingSince) return m.state;
  return `reconnecting since ${m.reconnectingSince.slice(11, 19)}Z (${ago(m.reconnectingSince, now)})`;
}

/** The mappings as an aligned table, one row per tunnel, service or visitor. */
export function mappingTable(lib: Pick<Views, 'formatAddress'>, rows: MappingView[], now = Date.now()): string {
  const at = lib.formatAddress;
  return formatTable(
    ['name', 'kind', 'proto', 'local', 'public', 'proxy host', 'engine', 'path', 'pid', 'created', 'state'],
    rows.map((m) => [
      m.name,
      m.kind,
      m.protocol,
      at(m.localHost, m.localPort),
      m.publicPort ? at(m.publicHost, m.publicPort) : '-',
      at(m.proxyHost, m.proxyControlPort),
      m.engine,
      typeof m.path === 'string' ? m.path : '-',
      String(m.pid),
      ago(m.createdAt, now),
      stateText(m, now),
    ]),
  );
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const lib = await loadViews();
  const configDir = configDirArg(lib, args);
  if (args.repair) {
    const aside = await lib.repairRecords(configDir, 'mappings');
    out.err(aside ? `moved the corrupt file aside to ${aside}` : 'record file is valid; nothing to repair');
  }
  const pruned = args.prune ? await lib.pruneMappings(configDir) : undefined;
  const rows = await lib.viewMappings(configDir);
  const live = await lib.viewLiveTunnels(configDir);
  for (const e of live.errors) out.err(`admin API not answering: ${e}`);
  if (args.json) {
    out.out(
      JSON.stringify(
        {
          configDir,
          ...(pruned !== undefined ? { pruned } : {}),
          ...(live.tunnels.length ? { live: live.tunnels } : {}),
          mappings: rows,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  if (live.tunnels.length > 0) {
    out.out(
      `Live from the admin API of ${[...new Set(live.tunnels.map((t) => t.pid))].map((p) => `pid ${p}`).join(', ')}:`,
    );
    out.out(tunnelTable(live.tunnels));
    out.out('');
  }
  if (pruned !== undefined) out.err(`pruned ${pruned} closed or stale entr${pruned === 1 ? 'y' : 'ies'}`);
  out.out(
    rows.length > 0
      ? mappingTable(lib, rows)
      : `No tunnels recorded yet (${emptyReason(path.join(configDir, 'reverse_proxy_mapping.json'))}).`,
  );
  return 0;
}
