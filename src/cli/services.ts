import type { Argv } from 'yargs';
import { P2prcError } from '../errors.js';
import type { ServiceInfo } from '../index.js';
import { configDirArg, loadLibrary } from './lib.js';
import { repairIfAsked, repairOption } from './repair.js';
import { ago, formatTable, stdio } from './output.js';

export const usage = 'p2prc --list-services <host[:port]> [--token T] [--json]';
export const describe =
  "List the private services registered on a host (ids, descriptions, owners, state). Needs the host's token.";

export function configure(y: Argv): Argv {
  return repairOption(y)
    .option('list-services', {
      type: 'string',
      demandOption: true,
      requiresArg: true,
      describe: 'host address, ip[:port]',
    })
    .option('user', { type: 'string', describe: 'account name, for hosts started with --users' })
    .option('password', { type: 'string', describe: 'account password (env P2PRC_PASSWORD)' })
    .option('token', { type: 'string', describe: "the host's token (env P2PRC_TOKEN)" })
    .option('fingerprint', { type: 'string', describe: "pin the host's TLS certificate" })
    .option('tls', { type: 'boolean', default: true, describe: 'TLS to the host (--no-tls for a plaintext host)' })
    .example('p2prc --list-services 203.0.113.10 --token T', 'table of services')
    .example('p2prc --list-services 127.0.0.1:7000 --json', 'the same as JSON');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const address = String(args['list-services'] ?? '');
  if (!address) throw new P2prcError('E_USAGE', '--list-services needs a host address');
  const lib = await loadLibrary();
  await repairIfAsked(lib, args, out);
  const services = await lib.runListServices({
    configDir: configDirArg(lib, args),
    proxy: lib.parseHostPort(address, 7000, '--list-services address'),
    token: args.token as string | undefined,
    fingerprint: args.fingerprint as string | undefined,
    tls: args.tls as boolean,
    user: args.user ? { name: String(args.user), password: String(args.password ?? '') } : undefined,
    onStatus: (line) => out.err(line),
  });
  out.out(servicesText(services, args.json as boolean));
  return 0;
}

/** The services as JSON, a table, or a line saying there are none. */
export function servicesText(services: ServiceInfo[], json: boolean, now = Date.now()): string {
  if (json) return JSON.stringify({ services }, null, 2);
  if (services.length === 0) return 'No services registered on this host.';
  return formatTable(
    ['id', 'description', 'owner', 'state', 'since'],
    services.map((s) => [s.id, s.description || '-', s.owner, s.online ? 'online' : 'offline', ago(s.since, now)]),
  );
}
