import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { P2prcError } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';
import { compareVersions, parseFrpVersion } from './config.js';
import { debugFailure } from '../log/debug.js';

export type FrpProgram = 'frps' | 'frpc';

export interface FrpBinary {
  path: string;
  version: string;
  /** Where it was found: flag, env, installed (the config dir), vendor (the package), or PATH. */
  source: 'flag' | 'env' | 'installed' | 'vendor' | 'path';
}

export interface FrpManifest {
  /** Unused since `frp install` takes the newest version listed; kept so older manifests still parse. */
  defaultVersion?: string;
  minimumVersion: string;
  baseUrl: string;
  versions: Record<string, { checksums: string; platforms: Record<string, string> }>;
}

/** Where `p2prc frp install` puts frp: <configDir>/frp/<version>/<platform>/. */
export function installedFrpDir(configDir: string): string {
  return path.join(configDir, 'frp');
}

/** The newest version the manifest lists (what `p2prc frp install` installs without --version). */
export function newestVersion(manifest: FrpManifest): string {
  const versions = Object.keys(manifest.versions).sort(compareVersions);
  if (versions.length === 0) throw new P2prcError('E_CONFIG', 'the frp manifest lists no versions');
  return versions[versions.length - 1]!;
}

/** The package's vendor/ directory, where `p2prc frp install` puts frp and its manifest lives. */
export const VENDOR_DIR = path.join(PACKAGE_ROOT, 'vendor');

export function platformKey(platform: string = process.platform, arch: string = process.arch): string {
  const a = arch === 'x64' ? 'amd64' : arch;
  return `${platform}-${a}`;
}

export async function readManifest(vendorDir = VENDOR_DIR): Promise<FrpManifest> {
  const file = path.join(vendorDir, 'frp.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as FrpManifest;
  } catch (err) {
    throw new P2prcError('E_CONFIG', `cannot read the frp manifest ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function frpVersion(file: string): Promise<string> {
  try {
    const { execa } = await import('execa'); // only when a binary is really probed
    const { stdout } = await execa(file, ['--version'], { timeout: 10_000 });
    return parseFrpVersion(stdout).join('.');
  } catch (err) {
    if (err instanceof P2prcError) throw err;
    throw new P2prcError('E_FRP_VERSION', `${file} --version failed: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
}

/**
 * Finds frps or frpc: --frp-bin-dir, $P2PRC_FRP_BIN_DIR, <configDir>/frp/<version>/<platform>/ (where
 * `p2prc frp install` puts it), vendor/frp/<version>/<platform>/ (older installs), then PATH.
 * A binary older than the manifest's minimum, or none at all, is a coded error saying how to install.
 */
export async function findFrp(
  program: FrpProgram,
  opts: {
    binDir?: string | undefined;
    env?: NodeJS.ProcessEnv;
    vendorDir?: string;
    configDir?: string | undefined;
  } = {},
): Promise<FrpBinary> {
  const env = opts.env ?? process.env;
  const vendorDir = opts.vendorDir ?? VENDOR_DIR;
  // No readable manifest only means no vendored versions to look in; the other places still count.
  const manifest = await readManifest(vendorDir).catch((e: unknown) =>
    debugFailure(`no frp manifest in ${vendorDir}`, e, 'E_CONFIG'),
  );
  const candidates: Array<{ dir: string; source: FrpBinary['source'] }> = [];
  if (opts.binDir) candidates.push({ dir: opts.binDir, source: 'flag' });
  if (env.P2PRC_FRP_BIN_DIR) candidates.push({ dir: env.P2PRC_FRP_BIN_DIR, source: 'env' });
  const versions = Object.keys(manifest?.versions ?? {})
    .sort(compareVersions)
    .reverse();
  if (opts.configDir)
    for (const v of versions)
      candidates.push({ dir: path.join(installedFrpDir(opts.configDir), v, platformKey()), source: 'installed' });
  for (const v of versions) candidates.push({ dir: path.join(vendorDir, 'frp', v, platformKey()), source: 'vendor' });
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) candidates.push({ dir, source: 'path' });
  for (const { dir, source } of candidates) {
    const file = path.join(dir, program);
    if (!(await executable(file))) {
      // An explicit directory that lacks the program is a mistake worth reporting, not skipping.
      if (source === 'flag') throw new P2prcError('E_FRP_MISSING', `no executable ${program} in --frp-bin-dir ${dir}`);
      continue;
    }
    const version = await frpVersion(file);
    const minimum = manifest?.minimumVersion ?? '0.31.0';
    if (compareVersions(version, minimum) < 0) {
      throw new P2prcError(
        'E_FRP_VERSION',
        `${file} is frp ${version}; p2prc needs ${minimum} or newer (run: p2prc frp install)`,
      );
    }
    return { path: file, version, source };
  }
  const installed = opts.configDir ? `${installedFrpDir(opts.configDir)}, ` : '';
  throw new P2prcError(
    'E_FRP_MISSING',
    `${program} not found (looked in --frp-bin-dir, $P2PRC_FRP_BIN_DIR, ${installed}${path.join(vendorDir, 'frp')}, PATH); install it with: p2prc frp install`,
  );
}
