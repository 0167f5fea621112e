import type { Argv } from 'yargs';
import { P2prcError } from '../errors.js';
import { configDirArg, loadLibrary } from './lib.js';
import { repairIfAsked, repairOption } from './repair.js';
import { stdio, untilSignal } from './output.js';
import type { PathState } from '../index.js';

function describePath(p: PathState): string {
  return p.kind === 'direct' ? `direct (${p.peer})` : `relayed (${p.reason})`;
}

export const usage = 'p2prc --visit <id> --host <host[:port]> --secret S --local-port P [--direct auto|only|off]';
export const describe =
  'Reach a private service by ID through a host: 127.0.0.1:P forwards, end-to-end encrypted, to the service.';

export function configure(y: Argv): Argv {
  return repairOption(y)
    .option('visit', { type: 'string', demandOption: true, requiresArg: true, describe: 'service ID' })
    .option('host', { type: 'string', demandOption: true, requiresArg: true, describe: 'host address, ip[:port]' })
    .option('secret', { type: 'string', describe: "the service's secret (env P2PRC_SECRET)" })
    .option('local-port', { type: 'number', default: 0, describe: 'local port to open on 127.0.0.1 (0 = any)' })
    .option('user', { type: 'string', describe: 'account name, for hosts started with --users' })
    .option('password', { type: 'string', describe: 'account password (env P2PRC_PASSWORD)' })
    .option('token', { type: 'string', describe: "the host's token (env P2PRC_TOKEN)" })
    .option('fingerprint', { type: 'string', describe: "pin the host's TLS certificate" })
    .option('tls', { type: 'boolean', default: true, describe: 'TLS to the host (--no-tls for a plaintext host)' })
    .option('direct', {
      choices: ['auto', 'only', 'off'],
      default: 'auto',
      describe: 'direct peer path: auto (else relayed), only (else fail), off (always relayed)',
    })
    .example(
      'p2prc --visit db --host 203.0.113.10 --secret S --local-port 5432',
      'reach service "db" on localhost:5432',
    );
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  // Listening from the start, as every long-running command does (see untilSignal).
  const signalled = untilSignal({ hangup: true });
  if (!args.secret) throw new P2prcError('E_USAGE', '--visit needs --secret (or P2PRC_SECRET)');
  const localPort = args['local-port'] as number;
  if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535)
    throw new P2prcError('E_USAGE', `invalid --local-port "${String(localPort)}"`);
  const lib = await loadLibrary();
  await repairIfAsked(lib, args, out);
  const visit = await lib.runVisit({
    configDir: configDirArg(lib, args),
    proxy: lib.parseHostPort(String(args.host), 7000, '--host address'),
    token: args.token as string | undefined,
    fingerprint: args.fingerprint as string | undefined,
    tls: args.tls as boolean,
    user: args.user ? { name: String(args.user), password: String(args.password ?? '') } : undefined,
    onStatus: (line) => out.err(line),
    serviceId: String(args.visit),
    secret: String(args.secret),
    localPort,
    direct: args.direct as 'auto' | 'only' | 'off',
    onError: (line) => out.err(`warning: ${line}`),
    onPath: (p) => out.err(`path changed: ${describePath(p)}`),
  });
  // Exactly one Path line, before serving; later changes go to stderr.
  out.out(args.json ? JSON.stringify({ event: 'path', ...visit.path }) : `Path: ${describePath(visit.path)}`);
  out.out(
    args.json
      ? JSON.stringify({ event: 'visiting', id: args.visit, localPort: visit.port })
      : `Visiting: ${String(args.visit)} on 127.0.0.1:${visit.port}`,
  );
  const signal = await signalled;
  out.err(`received ${signal}, closing`);
  await visit.close();
  return 0;
}
