import { beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { chmod, mkdir, readFile, stat, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { installFrp, checksumFor } from '../../src/frp/install.js';
import { findFrp, newestVersion } from '../../src/frp/binary.js';
import { readTarGz, writeTar } from '../../src/frp/tar.js';
import { P2prcError } from '../../src/errors.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();
let vendor: string;
let server: http.Server;
let base: string;
let routes: Record<string, (res: http.ServerResponse) => void>;

const fakeFrp = (name: string, version = '0.31.2') => Buffer.from(`#!/bin/sh\necho ${version}\n# ${name}\n`);
const archive = gzipSync(
  writeTar([
    { name: 'frp_0.31.2_linux_amd64/frps', data: fakeFrp('frps') },
    { name: 'frp_0.31.2_linux_amd64/frpc', data: fakeFrp('frpc') },
    { name: 'frp_0.31.2_linux_amd64/frps.ini', data: Buffer.from('[common]\n'), mode: 0o644 },
  ]),
);
const sha = createHash('sha256').update(archive).digest('hex');
const file = 'frp_0.31.2_linux_amd64.tar.gz';

beforeEach(async () => {
  vendor = tempDir('vendor');
  await writeFile(
    path.join(vendor, 'frp.json'),
    JSON.stringify({
      defaultVersion: '0.31.2',
      minimumVersion: '0.31.0',
      baseUrl: 'http://invalid.invalid/{version}/',
      versions: { '0.31.2': { checksums: 'frp_sha256_checksums.txt', platforms: { 'linux-amd64': file } } },
    }),
  );
  routes = {
    '/v0.31.2/frp_sha256_checksums.txt': (res) => res.end(`${'0'.repeat(64)}  other.tar.gz\n${sha}  ${file}\n`),
    [`/v0.31.2/${file}`]: (res) => res.end(archive),
  };
  server = http.createServer((req, res) =>
    (routes[req.url ?? ''] ?? ((r) => ((r.statusCode = 404), r.end('not found'))))(res),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v{version}/`;
});

// The manifest is read from `vendor`; binaries go into the config dir (`vendor`/cfg here), never the package.
const configDir = () => path.join(vendor, 'cfg');
const install = () =>
  installFrp({ version: '0.31.2', platform: 'linux-amd64', baseUrl: base, vendorDir: vendor, configDir: configDir() });
const codeOf = async (p: Promise<unknown>) =>
  (
    (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as P2prcError | undefined
  )?.code;

describe('p2prc frp install', () => {
  it('downloads, verifies and unpacks only frps and frpc, executable, where discovery finds them', async () => {
    const result = await install();
    expect(result.sha256).toBe(sha);
    const dir = path.join(configDir(), 'frp', '0.31.2', 'linux-amd64');
    expect(result.dir).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual(['frpc', 'frps']);
    await expect(stat(path.join(vendor, 'frp'))).rejects.toThrow();
    expect((await stat(path.join(dir, 'frpc'))).mode & 0o111).toBeTruthy();
    expect(await readFile(path.join(dir, 'frps'))).toEqual(fakeFrp('frps'));
    if (process.platform === 'linux' && process.arch === 'x64') {
      const found = await findFrp('frps', { vendorDir: vendor, configDir: configDir(), env: { PATH: '' } });
      expect(found).toMatchObject({ source: 'installed', version: '0.31.2' });
    }
  });

  it('refuses a checksum mismatch and installs nothing', async () => {
    routes['/v0.31.2/frp_sha256_checksums.txt'] = (res) => res.end(`${'a'.repeat(64)}  ${file}\n`);
    expect(await codeOf(install())).toBe('E_CHECKSUM');
    await expect(stat(path.join(configDir(), 'frp'))).rejects.toThrow();
  });

  it('refuses a truncated download', async () => {
    routes[`/v0.31.2/${file}`] = (res) => {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, archive.length >> 1));
      setImmediate(() => res.destroy());
    };
    expect(await codeOf(install())).toBe('E_DOWNLOAD');
  });

  it('reports a 404 with its status', async () => {
    delete routes[`/v0.31.2/${file}`];
    const err = (await install().catch((e: unknown) => e)) as P2prcError;
    expect(err.code).toBe('E_DOWNLOAD');
    expect(err.details.status).toBe(404);
  });

  it('without a version installs the newest the manifest lists (compared as numbers, not text)', async () => {
    const manifest = JSON.parse(await readFile(path.join(vendor, 'frp.json'), 'utf8')) as {
      versions: Record<string, unknown>;
    };
    const release = manifest.versions['0.31.2'];
    manifest.versions = { '0.9.0': release, '0.31.2': release, '0.100.0': release };
    await writeFile(path.join(vendor, 'frp.json'), JSON.stringify(manifest));
    expect(newestVersion(manifest as never)).toBe('0.100.0');
    routes['/v0.100.0/frp_sha256_checksums.txt'] = routes['/v0.31.2/frp_sha256_checksums.txt']!;
    routes[`/v0.100.0/${file}`] = routes[`/v0.31.2/${file}`]!;
    const result = await installFrp({
      platform: 'linux-amd64',
      baseUrl: base,
      vendorDir: vendor,
      configDir: configDir(),
    });
    expect(result).toMatchObject({ version: '0.100.0', dir: path.join(configDir(), 'frp', '0.100.0', 'linux-amd64') });
  });

  it('reads checksum files and refuses corrupt archives', () => {
    expect(checksumFor(`${sha}  ./dist/${file}\n`, file)).toBe(sha);
    expect(checksumFor('garbage', file)).toBeUndefined();
    const tar = writeTar([{ name: 'a/frps', data: Buffer.from('x') }]);
    tar[0] = tar[0]! ^ 0xff;
    expect(() => readTarGz(gzipSync(tar))).toThrow(expect.objectContaining({ code: 'E_DOWNLOAD' }));
    expect(() => readTarGz(Buffer.from('not gzip'))).toThrow(expect.objectContaining({ code: 'E_DOWNLOAD' }));
    expect(() => readTarGz(gzipSync(writeTar([{ name: 'f', data: Buffer.alloc(2000) }]).subarray(0, 1024)))).toThrow(
      expect.objectContaining({ code: 'E_DOWNLOAD' }),
    );
  });
});

describe('frp discovery order', () => {
  async function fakeDir(version: string): Promise<string> {
    const dir = tempDir('fakefrp');
    for (const name of ['frps', 'frpc']) {
      await writeFile(path.join(dir, name), fakeFrp(name, version));
      await chmod(path.join(dir, name), 0o755);
    }
    return dir;
  }

  it('prefers --frp-bin-dir, then P2PRC_FRP_BIN_DIR, then PATH; rejects old and missing with coded errors', async () => {
    const [flag, env, onPath, old] = await Promise.all(['0.40.0', '0.39.0', '0.38.0', '0.20.0'].map(fakeDir));
    const empty = tempDir('empty');
    await mkdir(path.join(empty, 'frp'));
    await writeFile(
      path.join(empty, 'frp.json'),
      JSON.stringify({ defaultVersion: '0.31.2', minimumVersion: '0.31.0', baseUrl: '', versions: {} }),
    );
    const opts = { vendorDir: empty };
    expect(
      (await findFrp('frpc', { ...opts, binDir: flag, env: { P2PRC_FRP_BIN_DIR: env, PATH: onPath } })).version,
    ).toBe('0.40.0');
    expect((await findFrp('frpc', { ...opts, env: { P2PRC_FRP_BIN_DIR: env, PATH: onPath } })).source).toBe('env');
    expect((await findFrp('frpc', { ...opts, env: { PATH: onPath } })).source).toBe('path');
    expect(await codeOf(findFrp('frpc', { ...opts, env: { PATH: old } }))).toBe('E_FRP_VERSION');
    expect(await codeOf(findFrp('frpc', { ...opts, env: { PATH: empty } }))).toBe('E_FRP_MISSING');
    expect(await codeOf(findFrp('frpc', { ...opts, binDir: empty, env: { PATH: onPath } }))).toBe('E_FRP_MISSING');
  });
});
