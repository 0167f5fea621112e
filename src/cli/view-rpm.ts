import type { Argv } from 'yargs';
import { formatAddress } from '../client/client.js';
import { pruneMappings, repairRecords, viewMappings } from '../service/views.js';
import { resolveConfigDir } from '../store/index.js';
import { ago, formatTable, stdio } from './output.js';

export const usage = 'p2prc --view-rpm [--json] [--prune]';
export const describe = 'List the tunnels in reverse_proxy_mapping.json: active, stale (owner process gone) or closed.';

export function configure(y: Argv): Argv {
  return y
    .option('view-rpm', { alias: 'view-reverse-proxy-mapping', type: 'boolean', describe: 'list tunnel mappings' })
    .option('prune', { type: 'boolean', default: false, describe: 'remove closed and stale entries first' })
    .option('repair', { type: 'boolean', default: false, describe: 'move a corrupt record file aside (kept as .corrupt-<time>) first' })
    .example('p2prc --view-rpm', 'table of tunnels')
    .example('p2prc --view-rpm --prune --json', 'drop dead entries, print the rest as JSON');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const configDir = resolveConfigDir(args['config-dir'] as string | undefined);
  if (args.repair) {
    const aside = await repairRecords(configDir, 'mappings');
    out.err(aside ? `moved the corrupt file aside to ${aside}` : 'record file is valid; nothing to repair');
  }
  const pruned = args.prune ? await pruneMappings(configDir) : undefined;
  const rows = await viewMappings(configDir);
  if (args.json) {
    out.out(JSON.stringify({ configDir, ...(pruned !== undefined ? { pruned } : {}), mappings: rows }, null, 2));
    return 0;
  }
  if (pruned !== undefined) out.err(`pruned ${pruned} closed or stale entr${pruned === 1 ? 'y' : 'ies'}`);
  if (rows.length === 0) {
    out.out(`No tunnels recorded (${configDir}/reverse_proxy_mapping.json is empty).`);
    return 0;
  }
  out.out(
    formatTable(
      ['name', 'kind', 'proto', 'local', 'public', 'proxy host', 'engine', 'pid', 'created', 'state'],
      rows.map((m) => [
        m.name, m.kind, m.protocol, formatAddress(m.localHost, m.localPort), m.publicPort ? formatAddress(m.publicHost, m.publicPort) : '-',
        formatAddress(m.proxyHost, m.proxyControlPort), m.engine, String(m.pid), ago(m.createdAt), m.state,
      ]),
    ),
  );
  return 0;
}
