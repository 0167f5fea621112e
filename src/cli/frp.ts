import type { Argv } from 'yargs';
import { P2prcError } from '../errors.js';
import { configDirArg, loadLibrary } from './lib.js';
import { stdio } from './output.js';

/**
 * `p2prc frp`, `p2prc frp install` and `p2prc frp which`: one module, three commands, so each has its
 * own usage, options and examples in --help. main.ts picks one by the words after `frp` and parses
 * the rest (`words` are not flags).
 */
const INSTALL_EXAMPLES: Array<[string, string]> = [
  [
    'p2prc frp install',
    'download the newest frp in vendor/frp.json, verify its SHA-256 and install frps and frpc into the config dir',
  ],
  ['p2prc frp install --version 0.31.2', 'a specific version from the manifest'],
  ['P2PRC_FRP_MIRROR=http://127.0.0.1:8080/v{version}/ p2prc frp install', 'from a mirror ({version} is substituted)'],
];
const WHICH_EXAMPLES: Array<[string, string]> = [
  ['p2prc frp which', 'where frps and frpc are found, their versions and which rule found them'],
  ['p2prc frp which --json', 'the same as JSON'],
];

const examples = (y: Argv, list: Array<[string, string]>) => list.reduce((acc, [c, d]) => acc.example(c, d), y);

export const words = ['frp'];
export const usage = 'p2prc frp <install|which> [options]';
export const describe =
  "Manage the frp binaries used by the frp fallback engine (--engine frp). `p2prc frp install --help` and `p2prc frp which --help` give each one's options.";
export function configure(y: Argv): Argv {
  return examples(y.version(false), [...INSTALL_EXAMPLES, ...WHICH_EXAMPLES]);
}
export function run(): Promise<number> {
  throw new P2prcError('E_USAGE', 'p2prc frp needs an action: install or which (see p2prc frp --help)');
}

export const install = {
  words: ['frp', 'install'],
  usage: 'p2prc frp install [--version <v>] [--platform <os-arch>] [--mirror <url>]',
  describe:
    "Download an frp release listed in vendor/frp.json, verify it against the release's SHA-256 checksums, and install frps and frpc into <config dir>/frp/<version>/<platform>/, where --engine frp finds them.",
  configure(y: Argv): Argv {
    return examples(
      y
        .version(false)
        .option('version', {
          type: 'string',
          describe: 'frp version to install (default: the newest in vendor/frp.json)',
        })
        .option('platform', { type: 'string', describe: 'platform, e.g. linux-amd64 (default: this machine)' })
        .option('mirror', {
          type: 'string',
          describe: 'release base URL, {version} substituted (env P2PRC_FRP_MIRROR)',
        }),
      INSTALL_EXAMPLES,
    );
  },
  async run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
    const out = stdio(verbose);
    const lib = await loadLibrary();
    const result = await lib.installFrp({
      configDir: configDirArg(lib, args),
      ...(args.version ? { version: String(args.version) } : {}),
      ...(args.platform ? { platform: String(args.platform) } : {}),
      ...(args.mirror ? { baseUrl: String(args.mirror) } : {}),
      onProgress: (m) => out.err(m),
    });
    out.out(
      args.json ? JSON.stringify(result) : `Installed frp ${result.version} (${result.platform}) in ${result.dir}`,
    );
    return 0;
  },
};

export const which = {
  words: ['frp', 'which'],
  usage: 'p2prc frp which [--frp-bin-dir <dir>] [--json]',
  describe:
    "Show the frps and frpc that --engine frp would use: --frp-bin-dir, $P2PRC_FRP_BIN_DIR, <config dir>/frp/, the package's vendor/frp/, then PATH.",
  configure(y: Argv): Argv {
    return examples(
      y.option('frp-bin-dir', { type: 'string', describe: 'directory to look in first (env P2PRC_FRP_BIN_DIR)' }),
      WHICH_EXAMPLES,
    );
  },
  async run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
    const out = stdio(verbose);
    const lib = await loadLibrary();
    const configDir = configDirArg(lib, args);
    const found = await Promise.all(
      (['frps', 'frpc'] as const).map((p) =>
        lib.findFrp(p, { binDir: args['frp-bin-dir'] as string | undefined, configDir }),
      ),
    );
    if (args.json) out.out(JSON.stringify(found));
    else for (const f of found) out.out(`${f.path}  ${f.version}  (${f.source})`);
    return 0;
  },
};
