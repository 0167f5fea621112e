import type { Argv } from 'yargs';
import { P2prcError } from '../errors.js';
import { loadLibrary } from './lib.js';
import { stdio } from './output.js';

export const usage = 'p2prc frp <install|which> [options]';
export const describe = 'Manage the frp binaries used by the frp fallback engine (--engine frp).';

export function configure(y: Argv): Argv {
  return y
    .version(false)
    .command('frp <action>', 'install or locate frp', (c) => c.positional('action', { choices: ['install', 'which'], describe: 'install: download and verify; which: show what --engine frp would use' }))
    .option('version', { type: 'string', describe: 'frp version to install (default: from vendor/frp.json)' })
    .option('platform', { type: 'string', describe: 'platform, e.g. linux-amd64 (default: this machine)' })
    .option('mirror', { type: 'string', describe: 'release base URL (env P2PRC_FRP_MIRROR)' })
    .option('frp-bin-dir', { type: 'string', describe: 'for "which": directory to look in first' })
    .example('p2prc frp install', 'download, verify (SHA-256) and install frps/frpc into vendor/frp/')
    .example('p2prc frp install --version 0.61.1', 'a specific version')
    .example('p2prc frp which --json', 'where frps and frpc are found, and their versions');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const action = args.action as string | undefined;
  if (action !== 'install' && action !== 'which') throw new P2prcError('E_USAGE', `unknown frp action "${action ?? ''}" (expected install or which)`);
  const lib = await loadLibrary();
  if (action === 'install') {
    const result = await lib.installFrp({
      ...(args.version ? { version: String(args.version) } : {}),
      ...(args.platform ? { platform: String(args.platform) } : {}),
      ...(args.mirror ? { baseUrl: String(args.mirror) } : {}),
      onProgress: (m) => out.err(m),
    });
    out.out(args.json ? JSON.stringify(result) : `Installed frp ${result.version} (${result.platform}) in ${result.dir}`);
    return 0;
  }
  const found = await Promise.all((['frps', 'frpc'] as const).map((p) => lib.findFrp(p, { binDir: args['frp-bin-dir'] as string | undefined })));
  if (args.json) out.out(JSON.stringify(found));
  else for (const f of found) out.out(`${f.path}  ${f.version}  (${f.source})`);
  return 0;
}
