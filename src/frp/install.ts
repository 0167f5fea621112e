import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { P2prcError } from '../errors.js';
import { VENDOR_DIR, installedFrpDir, newestVersion, platformKey, readManifest } from './binary.js';
import { readTarGz } from './tar.js';

export interface InstallOptions {
  version?: string;
  platform?: string;
  /** Release base URL; default from vendor/frp.json, or $P2PRC_FRP_MIRROR. "{version}" is substituted. */
  baseUrl?: string;
  /** Where vendor/frp.json (the manifest) is read from; the package's vendor/ by default. */
  vendorDir?: string;
  /** The config dir: binaries go into <configDir>/frp/<version>/<platform>/ (a package dir may be read-only). */
  configDir: string;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

export interface Installed {
  version: string;
  platform: string;
  dir: string;
  sha256: string;
}

const DOWNLOAD_TIMEOUT_MS = 120_000;

/**
 * Why fetch failed, from what it wraps: fetch says only "fetch failed", its cause says what the OS said
 * ("getaddrinfo ENOTFOUND mirror.example", "connect ECONNREFUSED 127.0.0.1:8080"). Pure.
 */
export function fetchFailureReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`;
  const cause = err.cause as (Error & { code?: string; errors?: Error[] }) | undefined;
  if (!(cause instanceof Error)) return err.message;
  // A name that resolved to several addresses fails with one error per address.
  const inner = cause.message || cause.errors?.map((e) => e.message).join('; ') || '';
  const text = inner || cause.code || cause.name;
  return cause.code && !text.includes(cause.code) ? `${cause.code}: ${text}` : text;
}

async function download(url: string, signal: AbortSignal | undefined): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ?? AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (err) {
    throw new P2prcError('E_DOWNLOAD', `cannot download ${url}: ${fetchFailureReason(err)}`, {
      cause: err,
      details: { url },
    });
  }
  if (!res.ok)
    throw new P2prcError('E_DOWNLOAD', `download of ${url} failed: HTTP ${res.status}`, {
      details: { status: res.status, url },
    });
  const expected = Number(res.headers.get('content-length') ?? NaN);
  let body: Buffer;
  try {
    body = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw new P2prcError('E_DOWNLOAD', `download of ${url} was cut off: ${fetchFailureReason(err)}`, { cause: err });
  }
  if (Number.isFinite(expected) && body.length !== expected) {
    throw new P2prcError('E_DOWNLOAD', `download of ${url} is truncated (${body.length} of ${expected} bytes)`);
  }
  return body;
}

/** The checksum file's line for `file`: "<sha256>  <file>". */
export function checksumFor(checksums: string, file: string): string | undefined {
  for (const line of checksums.split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m && (m[2] === file || path.basename(m[2]!) === file)) return m[1]!.toLowerCase();
  }
  return undefined;
}

/**
 * Downloads an frp release and its checksum file, verifies SHA-256, and unpacks only frps and frpc
 * into <configDir>/frp/<version>/<platform>/ (atomically: a temp dir renamed into place). The
 * version is `version`, else the newest the manifest lists.
 */
export async function installFrp(o: InstallOptions): Promise<Installed> {
  const vendorDir = o.vendorDir ?? VENDOR_DIR;
  const manifest = await readManifest(vendorDir);
  const version = o.version ?? newestVersion(manifest);
  const platform = o.platform ?? platformKey();
  const release = manifest.versions[version];
  if (!release)
    throw new P2prcError(
      'E_USAGE',
      `frp ${version} is not in ${path.join(vendorDir, 'frp.json')} (known: ${Object.keys(manifest.versions).join(', ')})`,
    );
  const file = release.platforms[platform];
  if (!file)
    throw new P2prcError(
      'E_USAGE',
      `frp ${version} has no release for ${platform} (known: ${Object.keys(release.platforms).join(', ')})`,
    );
  const base = (o.baseUrl ?? process.env.P2PRC_FRP_MIRROR ?? manifest.baseUrl)
    .replace('{version}', version)
    .replace(/\/?$/, '/');
  o.onProgress?.(`downloading ${base}${release.checksums}`);
  const checksums = (await download(base + release.checksums, o.signal)).toString('utf8');
  const expected = checksumFor(checksums, file);
  if (!expected) throw new P2prcError('E_CHECKSUM', `${release.checksums} has no checksum for ${file}`);
  o.onProgress?.(`downloading ${base}${file}`);
  const archive = await download(base + file, o.signal);
  const actual = createHash('sha256').update(archive).digest('hex');
  if (actual !== expected)
    throw new P2prcError(
      'E_CHECKSUM',
      `checksum mismatch for ${file}: expected ${expected}, got ${actual}; nothing was installed`,
    );
  const wanted = readTarGz(archive).filter(
    (e) => e.type === 'file' && ['frps', 'frpc'].includes(path.basename(e.name)),
  );
  for (const name of ['frps', 'frpc']) {
    if (!wanted.some((e) => path.basename(e.name) === name))
      throw new P2prcError('E_DOWNLOAD', `${file} does not contain ${name}`);
  }
  const target = path.join(installedFrpDir(o.configDir), version, platform);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = await mkdtemp(`${target}.tmp-`);
  try {
    for (const e of wanted) {
      const dest = path.join(tmp, path.basename(e.name));
      await writeFile(dest, e.data, { mode: 0o755 });
      await chmod(dest, 0o755);
    }
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  o.onProgress?.(`installed frps and frpc ${version} into ${target}`);
  return { version, platform, dir: target, sha256: actual };
}
