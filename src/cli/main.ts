import type { Argv } from 'yargs';
import { EXIT_CODES, P2prcError } from '../errors.js';
import { collectExamples, renderExamples } from './help.js';
import { VERSION } from '../version.js';
import { reportError, stdio } from './output.js';
import { unknownFlags, unknownFlagsMessage } from './suggest.js';
import { GIVEN, givenOptions, rejectRepeatedFlags } from './repeats.js';
import { declaredFlags, recordOptions } from './declared.js';
import { rejectBadNumbers, rejectEmptyToken } from './numbers.js';
import * as hostCmd from './host.js';
import * as connectCmd from './connect.js';
import * as viewRps from './view-rps.js';
import * as viewRpm from './view-rpm.js';
import * as nodeCmd from './node.js';
import * as frpCmd from './frp.js';
import * as servicesCmd from './services.js';
import * as visitCmd from './visit.js';
import * as usersCmd from './users.js';
import * as viewClients from './view-clients.js';
import * as statusCmd from './status.js';
import { addServerCommand, listServersCommand, removeServerCommand } from './servers.js';
import { preloadLibrary } from './lib.js';

export interface Command {
  describe: string;
  usage: string;
  /** Words before the flags that name the command (`frp install`). */
  words?: string[];
  configure(y: Argv): Argv;
  run(args: Record<string, unknown>, verbose: boolean): Promise<number>;
  /** Runs one of the library's modes (a host or a node): its code starts loading while the flags are parsed. */
  preloadsLibrary?: boolean;
}

const MODES: Array<{ flags: string[]; command: Command }> = [
  { flags: ['--reverse-proxy'], command: hostCmd },
  { flags: ['--connect-reverse-proxy'], command: connectCmd },
  { flags: ['--view-rps', '--view-reverse-proxy-servers'], command: viewRps },
  { flags: ['--view-rpm', '--view-reverse-proxy-mapping'], command: viewRpm },
  { flags: ['--list-services'], command: servicesCmd },
  { flags: ['--visit'], command: visitCmd },
  { flags: ['--add-user'], command: usersCmd },
  { flags: ['--view-clients'], command: viewClients },
  { flags: ['--ls', '--list-servers', '--ListServers'], command: listServersCommand },
  { flags: ['--as', '--add-server', '--AddServer'], command: addServerCommand },
  { flags: ['--rs', '--remove-server', '--RemoveServer'], command: removeServerCommand },
];

function hasFlag(argv: string[], flag: string): boolean {
  return argv.some((a) => a === flag || a.startsWith(`${flag}=`));
}

/** Picks the command from P2PRC-style mode flags, so each mode gets its own options and --help. */
export function selectCommand(argv: string[]): Command | undefined {
  const found = MODES.filter((m) => m.flags.some((f) => hasFlag(argv, f)));
  if (found.length > 1) throw new P2prcError('E_USAGE', `choose one of ${found.map((m) => m.flags[0]).join(', ')}`);
  if (found[0]) return found[0].command;
  if (argv[0] === 'status') return statusCmd;
  if (argv[0] === 'frp') return argv[1] === 'install' ? frpCmd.install : argv[1] === 'which' ? frpCmd.which : frpCmd;
  if (argv.includes('-s') || hasFlag(argv, '--server'))
    // A client config file (`-s -c p2prc.toml`) makes -s a connecting client.
    return hasFlag(argv, '-c') || hasFlag(argv, '--config') ? connectCmd : nodeCmd;
  return undefined;
}

export function commonOptions(y: Argv): Argv {
  return y
    .option('config-dir', {
      type: 'string',
      describe: 'where records and config live (env P2PRC; default: the platform config directory)',
    })
    .option('verbose', { type: 'boolean', default: false, describe: 'more logging, and the cause chain on errors' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' });
}

/** What each exit status means, for --help; the codes come from the table in src/errors.ts. */
const EXIT_MEANINGS: Record<number, string> = {
  1: 'any other failure',
  2: 'bad usage or value, bad config or record file',
  3: 'wrong token, password or service secret',
  4: 'port taken or not allowed, quota, name held by another',
  5: 'unreachable, timed out, no such service or node',
  6: "the host's TLS certificate does not match the fingerprint",
  7: 'frp binary missing or too old',
  8: 'no direct path with --direct only',
};

/** The exit statuses for --help: an installed user has no docs/ at hand. Pure. */
export function exitCodeHelp(): string {
  const lines = ['Exit codes:', '  0  success, or stopped with Ctrl-C / SIGTERM'];
  const statuses = [...new Set(Object.values(EXIT_CODES))].sort((a, b) => a - b);
  for (const status of statuses) {
    const codes = Object.entries(EXIT_CODES)
      .filter(([, s]) => s === status)
      .map(([c]) => c);
    const named = status === 1 ? '' : ` (${codes.join(', ')})`;
    lines.push(`  ${status}  ${EXIT_MEANINGS[status] ?? 'failure'}${named}`);
  }
  return lines.join('\n');
}

const GENERAL_HELP = `p2prc ${VERSION}: publish services behind NAT through a reverse-proxy host

Usage:
  p2prc -s --reverse-proxy [options]                  start a reverse-proxy host
  p2prc -s --connect-reverse-proxy <ip[:port]> [opts] start the node server and publish it
  p2prc -s -c p2prc.toml                              the same, the host and every tunnel from one file
  p2prc --view-rps [--json] [--offline]               list known reverse-proxy hosts
  p2prc --view-rpm [--json] [--prune]                 list tunnels (live from a client's admin API when up)
  p2prc --view-clients [--json]                       clients and tunnels of this machine's host (admin API)
  p2prc status [--json]                               hosts and this machine's tunnels, each probed now
  p2prc -s [--port 8088]                              start the node server only
  p2prc --list-services <host> [--json]               list private services on a host
  p2prc --visit <id> --host <host> --secret S --local-port P   reach a private service
  p2prc --ls [--json]                                 list known nodes (ip_table.json, offline)
  p2prc --as <ip[:port]> [--p <port>]                 add a node to ip_table.json
  p2prc --rs <ip[:port]> [--p <port>]                 remove a node from ip_table.json
  p2prc --add-user <name> --users <file>              add an account to a host's users file
  p2prc frp install [--version X]                     install frp (newest by default) for the fallback engine

Add --help to any of them for its options and examples.

${exitCodeHelp()}`;

/**
 * The environment variables the CLI reads, each for the option of the same meaning. Only these, and
 * only for a command that has that option: `P2PRC` (the config dir, P2PRC's own convention) and any
 * other P2PRC_* variable exported for another tool or command must not turn into unknown flags.
 */
export const ENV_OPTIONS: Record<string, string> = {
  P2PRC: 'config-dir',
  P2PRC_TOKEN: 'token',
  P2PRC_SECRET: 'secret',
  P2PRC_PASSWORD: 'password',
  P2PRC_FRP_BIN_DIR: 'frp-bin-dir',
  P2PRC_FRP_MIRROR: 'mirror',
};

/** The flags of every mode: for "did you mean" when no mode was chosen. */
async function allFlags(): Promise<string[]> {
  const { default: yargs } = await import('yargs');
  const commands = [...MODES.map((m) => m.command), frpCmd, frpCmd.install, frpCmd.which, nodeCmd, statusCmd];
  return [
    ...MODES.flatMap((m) => m.flags.map((f) => f.slice(2))),
    ...commands.flatMap((c) => {
      const parser = yargs([]);
      const declared = recordOptions(parser);
      c.configure(commonOptions(parser));
      return declaredFlags(declared);
    }),
  ];
}

/** Documented variables as defaults of the options the command declares (a flag still wins); help shows the name, not a secret. */
function envDefaults(parser: Argv, declared: string[], env: NodeJS.ProcessEnv): Argv {
  const known = new Set(declared);
  for (const [name, option] of Object.entries(ENV_OPTIONS)) {
    const value = env[name];
    if (value !== undefined && value !== '' && known.has(option)) parser.default(option, value, `$${name}`);
  }
  return parser;
}

/** Where a command's own flags are listed: its words or mode flag, then --help ("run p2prc --visit --help"). */
function helpHint(command: Command, argv: string[]): string {
  const mode = MODES.find((m) => m.command === command)?.flags.find((f) => hasFlag(argv, f));
  const server = argv.includes('-s') ? ['-s'] : hasFlag(argv, '--server') ? ['--server'] : [];
  const named = mode ? [...(command.preloadsLibrary ? server : []), mode] : (command.words ?? server);
  return `run p2prc ${[...named, '--help'].join(' ')} for its flags`;
}

/**
 * Parses argv with the command's options (and the documented environment variables), strictly; a bad flag is E_USAGE.
 * --help prints the command's help here. yargs is loaded only now: the general help and --version
 * need neither it nor the library.
 */
export async function parseArgs(command: Command, argv: string[]): Promise<Record<string, unknown>> {
  const { default: yargs } = await import('yargs');
  // A command named by words (`frp install`) parses what follows them: the words are not flags.
  const words = command.words ?? [];
  const base = yargs(words.every((w, i) => argv[i] === w) ? argv.slice(words.length) : argv);
  const examples = collectExamples(base);
  const declared = recordOptions(base);
  const width = Math.min(110, process.stdout.columns || 100);
  const parser = envDefaults(
    command.configure(
      commonOptions(base.scriptName('p2prc').version(VERSION).usage(`${command.usage}\n\n${command.describe}`)),
    ),
    declaredFlags(declared),
    process.env,
  )
    .strict()
    .help()
    .alias('h', 'help')
    .wrap(width)
    .exitProcess(false)
    .fail((msg, err) => {
      if (err instanceof P2prcError) throw err;
      const flags = declaredFlags(declared);
      const unknown = msg?.startsWith('Unknown argument') ? unknownFlags(argv, flags) : [];
      if (unknown.length > 0)
        throw new P2prcError('E_USAGE', `${unknownFlagsMessage(unknown, flags)}; ${helpHint(command, argv)}`);
      // yargs names a missing option without its dashes ("Missing required argument: host").
      const missing = /^Missing required arguments?: (.+)$/.exec(msg ?? '');
      if (missing)
        throw new P2prcError(
          'E_USAGE',
          `missing ${missing[1]!
            .split(', ')
            .map((n) => `--${n}`)
            .join(', ')}; ${helpHint(command, argv)}`,
        );
      throw new P2prcError('E_USAGE', msg ?? err?.message ?? 'bad usage');
    });
  parser.showHelpOnFail(false);
  rejectRepeatedFlags(argv, declared);
  const args = (await parser.parseAsync()) as Record<string, unknown>;
  if (!args.help) {
    rejectBadNumbers(args, argv, declared);
    rejectEmptyToken(args);
  }
  // Which options the user typed, for a config file that yields to flags but not to defaults.
  Object.defineProperty(args, GIVEN, { value: givenOptions(argv, declared), enumerable: false });
  if (args.help) process.stdout.write(`\n${renderExamples(examples, width)}`);
  return args;
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const output = stdio(verbose);
  try {
    const command = selectCommand(argv);
    if (!command) {
      if (argv.includes('--version')) return (output.out(VERSION), 0);
      const asked = argv.includes('--help') || argv.includes('-h') || argv[0] === 'help';
      if (asked || argv.length === 0) {
        (asked ? output.out : output.err)(GENERAL_HELP);
        return asked ? 0 : 2;
      }
      // A mistake is one line with what to do next, not the whole usage above it.
      const known = await allFlags();
      const unknown = unknownFlags(argv, known);
      throw new P2prcError(
        'E_USAGE',
        unknown.length > 0
          ? `${unknownFlagsMessage(unknown, known)}; run p2prc --help for the commands`
          : `no command chosen in: ${argv.join(' ')}; run p2prc --help for the commands (e.g. --view-rps)`,
      );
    }
    if (command.preloadsLibrary && !['--help', '-h', '--version'].some((f) => argv.includes(f))) preloadLibrary();
    const args = await parseArgs(command, argv);
    if (argv.includes('--help') || argv.includes('-h') || (argv.includes('--version') && command !== frpCmd.install))
      return 0;
    return await command.run(args, verbose);
  } catch (err) {
    return reportError(err, output, argv.includes('--json'));
  }
}
