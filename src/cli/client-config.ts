import { P2prcError } from '../errors.js';
import type { ExposeSpec, NodeServiceSpec } from '../index.js';
import type { Library } from './lib.js';
import { GIVEN } from './repeats.js';

/** Options a config file sets, by their flag; a flag the user typed wins. */
const FILE_FLAGS = [
  ['host', 'connect-reverse-proxy'],
  ['fingerprint', 'fingerprint'],
  ['tls', 'tls'],
  ['protocol', 'protocol'],
  ['engine', 'engine'],
] as const;

/** `-c <file>` merged with the flags: flags win; its tunnels are named --expose specs and services by ID. */
export interface ClientRun {
  args: Record<string, unknown>;
  expose: ExposeSpec[];
  services: NodeServiceSpec[];
}

/**
 * Reads `--config` (when given) and folds it under the flags. Precedence, as for every option: the flag,
 * then its P2PRC_* variable, then the file, then what is stored (tokens, pins) or the default. For the
 * services' secret the file comes before P2PRC_SECRET (one file may name the secret of all its services).
 */
export async function clientRun(lib: Library, args: Record<string, unknown>): Promise<ClientRun> {
  const flagExpose = (args.expose as string[]).map((e) => lib.parseExpose(e));
  if (args.config === undefined) return { args, expose: flagExpose, services: [] };
  const given = (args as Record<string, unknown> & { [GIVEN]?: Set<string> })[GIVEN] ?? new Set<string>();
  const file = await lib.loadClientConfig(String(args.config));
  if (args.service !== undefined)
    throw new P2prcError(
      'E_USAGE',
      `--service with --config ${file.file}: add a [[tunnels]] of type = "service" instead`,
    );
  const merged = { ...args };
  for (const [key, flag] of FILE_FLAGS) if (!given.has(flag) && file[key] !== undefined) merged[flag] = file[key];
  // --token, then P2PRC_TOKEN (both arrive as args.token), then the file, then the stored token.
  if (merged.token === undefined && file.token !== undefined) merged.token = file.token;
  if (merged['connect-reverse-proxy'] === undefined)
    throw new P2prcError(
      'E_USAGE',
      `${file.file} names no host: add host = "<ip[:port]>" or pass --connect-reverse-proxy <ip[:port]>`,
    );
  const secret = given.has('secret') ? (args.secret as string) : (file.secret ?? (args.secret as string | undefined));
  // A flag's tunnel replaces the file's of the same name.
  const flagNames = new Set(flagExpose.map((e) => e.name).filter((n) => n !== undefined));
  const fromFile = file.tunnels.filter((t) => !flagNames.has(t.name));
  const expose: ExposeSpec[] = [];
  const services: NodeServiceSpec[] = [];
  for (const t of fromFile) {
    if ('id' in t) services.push({ name: t.name, id: t.id, localPort: t.localPort, secret });
    else expose.push(t);
  }
  return { args: merged, expose: [...expose, ...flagExpose], services };
}
