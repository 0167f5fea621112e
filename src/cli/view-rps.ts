import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Argv } from 'yargs';
import type { ServerView } from '../index.js';
import { configDirArg, loadViews } from './lib.js';
import { ago, formatTable, stdio } from './output.js';

export const usage = 'p2prc --view-rps [--json] [--offline]';
export const describe = 'List the reverse-proxy hosts in reverse_proxy_server.json, probed live.';

export function configure(y: Argv): Argv {
  return y
    .option('view-rps', { alias: 'view-reverse-proxy-servers', type: 'boolean', describe: 'list reverse-proxy hosts' })
    .option('offline', { type: 'boolean', default: false, describe: 'do not probe; state shows "unknown"' })
    .option('timeout', { type: 'number', default: 1.5, describe: 'probe timeout in seconds' })
    .option('repair', {
      type: 'boolean',
      default: false,
      describe: 'move a corrupt record file aside (kept as .corrupt-<time>) first',
    })
    .example('p2prc --view-rps', 'table of hosts with their live state')
    .example('p2prc --view-rps --json --offline', 'records as JSON, without probing');
}

/** Why a record file lists nothing: not written yet (no run has recorded anything) or emptied. */
export function emptyReason(file: string): string {
  return existsSync(file) ? `${file} is empty` : `${file} does not exist yet`;
}

export function shortFingerprint(fp: string | null | undefined): string {
  return fp ? `${fp.slice(0, 11)}…` : '-';
}

/** The hosts as an aligned table with their live state. */
export function serverTable(rows: ServerView[], now = Date.now()): string {
  return formatTable(
    ['address', 'control port', 'fingerprint', 'version', 'last seen', 'state'],
    rows.map((r) => [
      r.address,
      String(r.controlPort),
      r.tls ? shortFingerprint(r.fingerprint) : 'no tls',
      r.version ?? '-',
      ago(r.lastSeen, now),
      r.latencyMs !== null ? `${r.state} (${r.latencyMs} ms)` : r.state,
    ]),
  );
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const lib = await loadViews();
  const configDir = configDirArg(lib, args);
  if (args.repair) {
    const aside = await lib.repairRecords(configDir, 'servers');
    out.err(aside ? `moved the corrupt file aside to ${aside}` : 'record file is valid; nothing to repair');
  }
  const rows = await lib.viewServers(configDir, {
    offline: args.offline as boolean,
    timeoutMs: Math.round((args.timeout as number) * 1000),
    onWarning: (l) => out.err(l),
  });
  if (args.json) {
    out.out(JSON.stringify({ configDir, servers: rows }, null, 2));
    return 0;
  }
  out.out(
    rows.length > 0
      ? serverTable(rows)
      : `No reverse-proxy hosts known yet (${emptyReason(path.join(configDir, 'reverse_proxy_server.json'))}).`,
  );
  return 0;
}
